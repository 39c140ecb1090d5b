/**
 * The sensor plan (examples/sensor/rampart.yaml) through the pipeline once per seed (the
 * plan's seed and its split seed), printing baseline vs hardened:
 *   npx tsx examples/sensor/seeds.ts [firstSeed] [lastSeed] [plan]   (default 1 3 and this folder's rampart.yaml;
 *   a few minutes per seed on 2 cores). A variant plan (another oversampling share, more epochs...) is measured the same way.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { initEngine } from '../../src/engine/backend.js';
import { parsePlanText } from '../../src/pipeline/plan/load.js';
import { runPlan } from '../../src/pipeline/run/run-plan.js';

const pct = (v: number): string => `${(100 * v).toFixed(1)}%`;
await initEngine();
const first = Number(process.argv[2] ?? 1);
const last = Number(process.argv[3] ?? 3);
const text = readFileSync(process.argv[4] ?? new URL('./rampart.yaml', import.meta.url), 'utf8');
const dir = mkdtempSync(join(tmpdir(), 'rampart-sensor-seeds-'));
try {
  for (let seed = first; seed <= last; seed++) {
    const doc = parse(text) as { seed: number; tabular: { splitSeed?: number } };
    doc.seed = seed;
    doc.tabular.splitSeed = seed;
    const result = await runPlan(parsePlanText(stringify(doc), `rampart.yaml (seed ${seed})`), {
      dir: join(dir, String(seed)),
      governance: false,
    });
    const training = result.tabular?.training;
    if (!training?.hardened) throw new Error('the plan has no tabular training');
    const line = (name: string, n: typeof training.baseline.numbers): string =>
      `${name} clean ${pct(n.clean.value)}, balanced ${pct(n.balancedAccuracy)}, ` +
      Object.entries(n.robust)
        .map(([id, r]) => `${id} ${pct(r.value)} (${r.count}/${r.n}, 95% CI ${pct(r.lower)}–${pct(r.upper)})`)
        .join(', ');
    console.log(`seed ${seed}: ${line('baseline', training.baseline.numbers)}`);
    console.log(`seed ${seed}: ${line('hardened', training.hardened.numbers)}`);
    const lift = training.lift;
    if (lift)
      console.log(
        `seed ${seed}: clean ${(100 * lift.clean).toFixed(2)} points, robust lift ` +
          Object.entries(lift.robust)
            .map(([id, v]) => `${id} ${(100 * v).toFixed(1)} points`)
            .join(', ') +
          `; gate ${result.gate.passed ? 'passed' : 'failed'}`,
      );
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}

/**
 * `npx tsx bench/serve-ensemble.ts`: what an ensemble adds to the serving path's model cost,
 * apart from HTTP (which `bench/serve.ts` includes, and which a loaded machine drowns in
 * noise). Per single-example request, the served model's `infer` as `rampart serve` runs it:
 *   bare      the primary model alone (cnn by default);
 *   separate  the primary, then the MLP member as a second model (the ensemble layer's
 *             `models: [...]` path: its own input tensor, forward pass and download);
 *   fused     one graph holding the primary and the MLP member, mean of logits, member
 *             labels from the same pass (`ensemble: { fused: true }`).
 * Rounds alternate the variants; each round's p99 over `--requests` calls, medians over
 * rounds, reported as ratios to bare. Flags: --arch cnn|mlp --requests 400 --rounds 7
 * --out bench/results/serve-ensemble.json
 */
import { parseArgs } from 'node:util';
import { mkdtemp } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../src/engine/backend.js';
import { writeJsonFile } from '../src/core/files.js';
import { buildModel } from '../src/models/architectures.js';
import { loadClassifierModel, saveClassifierModel } from '../src/models/store.js';
import { buildFusedEnsemble } from '../src/defenses/ensemble/fused.js';
import { imageServedModel } from '../src/serve/served-model.js';
import { loadEnsembleMembers } from '../src/serve/prepare.js';
import { formatTable } from '../src/report/table.js';
import { createRng } from '../src/core/rng.js';
import { reportErrorsPlainly } from './support.js';

reportErrorsPlainly();
const { values } = parseArgs({
  options: {
    arch: { type: 'string', default: 'cnn' },
    requests: { type: 'string', default: '400' },
    rounds: { type: 'string', default: '7' },
    out: { type: 'string', default: 'bench/results/serve-ensemble.json' },
  },
});
const arch = values.arch ?? 'cnn';
const requests = Number(values.requests);
const rounds = Number(values.rounds);
const engine = await initEngine();
const work = await mkdtemp(join(tmpdir(), 'rampart-bench-ensemble-'));
const info = (architecture: string) => ({ architecture, inputShape: [28, 28, 1], numClasses: 10, bounds: { min: 0, max: 1 } });
const shape = { inputShape: [28, 28, 1], numClasses: 10 };

// Timing does not depend on the weights: untrained models of the same graphs.
const save = async (model: tf.LayersModel, name: string, architecture: string): Promise<string> => {
  const dir = join(work, name);
  await saveClassifierModel(model, dir, info(architecture));
  model.dispose();
  return dir;
};
const primaryDir = await save(buildModel(arch, { ...shape, seed: 1 }), 'primary', arch);
const memberDir = await save(buildModel('mlp', { ...shape, seed: 2 }), 'member', 'mlp');
const ensemble = buildFusedEnsemble(arch, { ...shape, seed: 1, members: 2, architectures: [arch, 'mlp'] });
ensemble.members.dispose();
const fusedDir = await save(ensemble.model, 'fused', `ensemble:${arch}+mlp`);

const ref = (dir: string) => ({ source: 'dir' as const, dir });
const bare = imageServedModel(await loadClassifierModel(primaryDir), { ref: ref(primaryDir), id: 'bare' });
const fused = imageServedModel(await loadClassifierModel(fusedDir), { ref: ref(fusedDir), id: 'fused' });
const { members, dispose: disposeMembers } = await loadEnsembleMembers([memberDir], [28, 28, 1]);

const rng = createRng(7);
const inputs = Array.from({ length: 64 }, () => Float32Array.from({ length: 784 }, () => rng.next()));
const batchOf = (i: number) => ({ x: inputs[i % inputs.length] as Float32Array, count: 1, shape: [28, 28, 1] });

type Variant = 'bare' | 'separate' | 'fused';
const call: Record<Variant, (i: number) => Promise<unknown>> = {
  bare: (i) => bare.infer({ batch: batchOf(i) }),
  separate: async (i) => {
    const out = await bare.infer({ batch: batchOf(i) });
    await members[0]?.predictBatch?.(batchOf(i));
    return out;
  },
  fused: (i) => fused.infer({ batch: batchOf(i) }),
};
const variants = Object.keys(call) as Variant[];
const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
};
const median = (xs: number[]): number => quantile(xs, 0.5);
for (const v of variants) for (let i = 0; i < 50; i++) await call[v](i);
const p99s: Record<Variant, number[]> = { bare: [], separate: [], fused: [] };
const p50s: Record<Variant, number[]> = { bare: [], separate: [], fused: [] };
const tensors = tf.memory().numTensors;
for (let round = 0; round < rounds; round++) {
  const order = variants.map((_, i) => variants[(i + round) % variants.length] as Variant);
  for (const v of order) {
    const ms: number[] = [];
    for (let i = 0; i < requests; i++) {
      const t0 = performance.now();
      await call[v](i);
      ms.push(performance.now() - t0);
    }
    p99s[v].push(quantile(ms, 0.99));
    p50s[v].push(median(ms));
  }
  console.error(`round ${round + 1}: ${variants.map((v) => `${v} p99 ${p99s[v].at(-1)?.toFixed(3)} ms`).join(', ')}`);
}
const leaked = tf.memory().numTensors - tensors;
const summary = Object.fromEntries(variants.map((v) => [v, { p50: median(p50s[v]), p99: median(p99s[v]) }])) as Record<
  Variant,
  { p50: number; p99: number }
>;
const ratio = (v: Variant): number => summary[v].p99 / summary.bare.p99 - 1;
const result = {
  kind: 'rampart.bench.serve-ensemble',
  schemaVersion: 1,
  at: new Date().toISOString(),
  engine,
  primary: arch,
  member: 'mlp',
  settings: { requests, rounds },
  summary,
  p99Overhead: { separate: ratio('separate'), fused: ratio('fused') },
  target: { maxP99Overhead: 0.1, fusedMet: ratio('fused') <= 0.1 },
  leakedTensors: leaked,
  loadAverage: loadavg(),
  cores: availableParallelism(),
};
await writeJsonFile(values.out ?? 'bench/results/serve-ensemble.json', result);
console.log(
  formatTable(
    ['variant', 'p50 ms', 'p99 ms', 'p99 vs bare'],
    variants.map((v) => [v, summary[v].p50.toFixed(3), summary[v].p99.toFixed(3), v === 'bare' ? '' : `${(ratio(v) * 100).toFixed(1)}%`]),
  ),
);
console.log(
  `load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(', ')} on ${availableParallelism()} cores; leaked tensors ${leaked}`,
);
bare.dispose();
fused.dispose();
disposeMembers();

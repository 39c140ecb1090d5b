/**
 * Where the guarded request path's CPU goes, layer by layer: builds one server per variant
 * (bare, then each guard added on its own, then all of them) and sends the same requests
 * through `app.inject` in alternating rounds, reporting this process's CPU time per request
 * (median over rounds) and the difference to bare, also paired round by round (median and
 * interquartile range of the per-round differences), which holds up better on a busy machine. No sockets, so the numbers are the
 * request path's own cost, not the network stack's; a diagnostic beside bench/serve.ts.
 *   --requests 2000 (per variant per round)   --rounds 5   --model DIR (trained there when missing)
 */
import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { initEngine } from '../src/engine/backend.js';
import { buildModel } from '../src/models/architectures.js';
import { saveClassifierModel } from '../src/models/store.js';
import { trainModel } from '../src/training/trainer.js';
import { selectData } from '../src/pipeline/data-selection.js';
import { formatTable } from '../src/report/table.js';
import { buildServer } from '../src/serve/app.js';
import { KeyStore, generateApiKey, hashApiKey } from '../src/serve/auth.js';
import type { ServeConfigInput } from '../src/serve/config.js';
import { directorySource } from '../src/serve/model-source.js';
import { takeFirst } from '../src/data/index.js';
import { reportErrorsPlainly } from './support.js';

reportErrorsPlainly();
const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '2000' },
    rounds: { type: 'string', default: '5' },
    model: { type: 'string', default: 'bench/results/ablate-model' },
    only: { type: 'string' },
  },
});
await initEngine();
const data = selectData({ spec: 'mnist', splitSeed: 1, subset: 'all' });
const train = takeFirst(data.splits.train, 3000);
const test = takeFirst(data.splits.test, 200);
const dir = values.model as string;
if (!existsSync(dir)) {
  const model = buildModel('cnn', { inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
  await trainModel({ model, train, epochs: 2, batchSize: 64, optimizer: 'adam', learningRate: 2e-3, seed: 1 });
  await saveClassifierModel(model, dir, {
    architecture: 'cnn',
    inputShape: [28, 28, 1],
    numClasses: 10,
    bounds: { min: 0, max: 1 },
    data: { spec: 'mnist', name: data.provenance.name, sha256: data.provenance.sha256, split: data.provenance.split },
  });
  model.dispose();
}
const { id, key } = generateApiKey();
const keys = new KeyStore([{ id, role: 'predict', hash: await hashApiKey(key) }]);
const none = { rateLimit: false, queryPattern: false, ood: false, ensemble: false, abstain: false, normalizeText: false } as const;
const off = { monitor: false, canary: false, rollback: false } as const;
const rateLimit = { perKey: { max: 1_000_000, timeWindowMs: 1000 }, perAddress: { max: 10_000_000, timeWindowMs: 1000 } };
const queryPattern = { flagAt: 1_000_000, denyAt: 1_000_000 };
const variants: Record<string, { config: ServeConfigInput; keys: boolean }> = {
  bare: { config: { layers: none, ...off }, keys: false },
  auth: { config: { layers: none, ...off }, keys: true },
  'rate-limit': { config: { layers: { ...none, rateLimit }, ...off }, keys: true },
  'query-pattern': { config: { layers: { ...none, queryPattern }, ...off }, keys: false },
  ood: { config: { layers: { ...none, ood: {} }, ...off }, keys: false },
  abstain: { config: { layers: { ...none, abstain: { threshold: 0.5 } }, ...off }, keys: false },
  monitor: { config: { layers: none, canary: false, rollback: false }, keys: false },
  default: {
    config: {
      layers: { rateLimit, queryPattern, ood: {}, ensemble: false, abstain: { threshold: 0.5 } },
      canary: { intervalMs: 60_000, count: 64 },
    },
    keys: true,
  },
};
const names = values.only ? ['bare', ...values.only.split(',')] : Object.keys(variants);
const bodies = Array.from({ length: test.count }, (_, i) =>
  JSON.stringify({ inputs: [Array.from(test.x.subarray(i * 784, (i + 1) * 784), (v) => Math.round(v * 1000) / 1000)] }),
);
const apps = new Map<string, Awaited<ReturnType<typeof buildServer>>>();
for (const name of names) {
  const v = variants[name] as (typeof variants)[string];
  apps.set(
    name,
    await buildServer({
      source: directorySource({ dir }),
      config: v.config,
      ...(v.keys ? { keys } : {}),
      oodData: train,
      probeData: takeFirst(test, 64),
    }),
  );
}
const n = Number(values.requests);
// Garbage collection by kind while a variant runs: what a layer keeps alive shows up as major GCs.
const gc = { minor: 0, major: 0 };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
    if (kind === constants.NODE_PERFORMANCE_GC_MAJOR || kind === constants.NODE_PERFORMANCE_GC_INCREMENTAL) gc.major += e.duration;
    else gc.minor += e.duration;
  }
}).observe({ entryTypes: ['gc'] });
const gcUs = new Map<string, { minor: number[]; major: number[] }>(names.map((name) => [name, { minor: [], major: [] }]));
async function drive(name: string, count: number): Promise<number> {
  gc.minor = 0;
  gc.major = 0;
  const app = apps.get(name) as NonNullable<ReturnType<typeof apps.get>>;
  const headers = { 'content-type': 'application/json', ...(variants[name]?.keys ? { authorization: `Bearer ${key}` } : {}) };
  const cpu = process.cpuUsage();
  for (let i = 0; i < count; i++) {
    const res = await app.inject({ method: 'POST', url: '/v1/predict', headers, payload: bodies[i % bodies.length] as string });
    if (res.statusCode !== 200) throw new Error(`${name}: ${res.statusCode} ${res.body}`);
  }
  const used = process.cpuUsage(cpu);
  await new Promise((resolve) => setImmediate(resolve));
  gcUs.get(name)?.minor.push((gc.minor * 1000) / count);
  gcUs.get(name)?.major.push((gc.major * 1000) / count);
  return (used.user + used.system) / count;
}
for (const name of names) await drive(name, 500);
const samples = new Map<string, number[]>(names.map((name) => [name, []]));
for (let round = 0; round < Number(values.rounds); round++) {
  const order = names.map((_, i) => names[(i + round) % names.length] as string);
  for (const name of order) samples.get(name)?.push(await drive(name, n));
}
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return ((s[Math.floor((s.length - 1) / 2)] as number) + (s[Math.ceil((s.length - 1) / 2)] as number)) / 2;
};
const bare = median(samples.get('bare') ?? []);
// Paired: each round's difference to bare in the same round, so drift slower than a round cancels.
const paired = (name: string): number[] => {
  const b = samples.get('bare') ?? [];
  return (samples.get(name) ?? []).map((v, i) => v - (b[i] as number));
};
const quartiles = (xs: number[]): string => {
  const s = [...xs].sort((a, b) => a - b);
  const q = (f: number): number => s[Math.min(s.length - 1, Math.floor(f * s.length))] as number;
  return `${q(0.25).toFixed(1)}..${q(0.75).toFixed(1)}`;
};
console.log(
  formatTable(
    ['variant', 'CPU µs/request', 'vs bare µs', 'vs bare %', 'paired Δ µs (median)', 'paired Δ IQR', 'minor GC µs/req', 'major GC µs/req'],
    names.map((name) => {
      const m = median(samples.get(name) ?? []);
      const g = gcUs.get(name) ?? { minor: [], major: [] };
      return [
        name,
        m.toFixed(1),
        name === 'bare' ? '' : (m - bare).toFixed(1),
        name === 'bare' ? '' : `${((m / bare - 1) * 100).toFixed(1)}%`,
        name === 'bare' ? '' : median(paired(name)).toFixed(1),
        name === 'bare' ? '' : quartiles(paired(name)),
        median(g.minor).toFixed(1),
        median(g.major).toFixed(1),
      ];
    }),
  ),
);
for (const app of apps.values()) await app.close();

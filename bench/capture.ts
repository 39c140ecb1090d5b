/**
 * `npx tsx bench/capture.ts`: what capture costs a request. One small MLP served twice in
 * this process on loopback, both with the abstain layer flagging every answer (so every
 * request is a capture candidate, the worst case); one stores them in a registry's capture
 * store, the other does not. autocannon drives both from a child process; rounds alternate
 * the order. Reports p99 latency per variant (median over rounds) and the ratio. Target:
 * capture adds at most 1 ms to p99. Flags: --duration 5 --connections 8 --rounds 3 --rate 100 (requests/s; 0 = saturate)
 */
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';
import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type autocannon from 'autocannon';
import { initEngine } from '../src/engine/backend.js';
import { buildModel } from '../src/models/architectures.js';
import { saveClassifierModel } from '../src/models/store.js';
import { trainModel } from '../src/training/trainer.js';
import { selectData } from '../src/pipeline/data-selection.js';
import { takeFirst } from '../src/data/index.js';
import { buildServer } from '../src/serve/app.js';
import type { ServeConfigInput } from '../src/serve/config.js';
import { directorySource } from '../src/serve/model-source.js';
import { openGovernance } from '../src/governance/index.js';
import { reportErrorsPlainly } from './support.js';

reportErrorsPlainly();
const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    connections: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '3' },
    rate: { type: 'string', default: '100' },
  },
});
const duration = Number(values.duration);
const connections = Number(values.connections);
const rounds = Number(values.rounds);
// A fixed request rate (0: as fast as possible). Under saturation any background work, the
// capture writer's included, shows up as latency; at a steady rate what is measured is the
// cost a request itself pays.
const rate = Number(values.rate);

await initEngine();
const data = selectData({ spec: 'mnist', splitSeed: 1, subset: 'all' });
const train = takeFirst(data.splits.train, 1000);
const test = takeFirst(data.splits.test, 200);
const work = await mkdtemp(join(tmpdir(), 'rampart-bench-capture-'));
const model = buildModel('mlp', { inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
await trainModel({ model, train, epochs: 1, batchSize: 64, optimizer: 'adam', learningRate: 2e-3, seed: 1 });
await saveClassifierModel(model, join(work, 'model'), {
  architecture: 'mlp',
  inputShape: [28, 28, 1],
  numClasses: 10,
  bounds: { min: 0, max: 1 },
});
model.dispose();

const base: ServeConfigInput = {
  layers: {
    rateLimit: false,
    queryPattern: false,
    ood: false,
    ensemble: false,
    normalizeText: false,
    abstain: { threshold: 0.9999, action: 'flag' },
  },
  monitor: false,
  canary: false,
  rollback: false,
};
const registry = join(work, '.rampart');
const variants = {
  off: base,
  capture: { ...base, capture: { dir: registry } },
} satisfies Record<string, ServeConfigInput>;
type Variant = keyof typeof variants;

const servers = {} as Record<Variant, { url: string; close: () => Promise<void> }>;
for (const v of Object.keys(variants) as Variant[]) {
  const app = await buildServer({ source: directorySource({ dir: join(work, 'model') }), config: variants[v] });
  servers[v] = { url: await app.listen({ port: 0, host: '127.0.0.1' }), close: () => app.close() };
}

const bodies = Array.from({ length: test.count }, (_, i) =>
  JSON.stringify({ inputs: [Array.from(test.x.subarray(i * 784, (i + 1) * 784), (v) => Math.round(v * 1000) / 1000)] }),
);
const autocannonPath = createRequire(import.meta.url).resolve('autocannon');
const CHILD = `
const autocannon = require(${JSON.stringify(autocannonPath)});
let input = '';
process.stdin.on('data', (c) => (input += c));
process.stdin.on('end', () => autocannon(JSON.parse(input), (err, r) => { if (err) process.exit(1); process.stdout.write(JSON.stringify(r)); }));`;

function load(url: string, seconds: number): Promise<autocannon.Result> {
  const options = {
    url,
    connections,
    duration: seconds,
    ...(rate > 0 ? { overallRate: rate } : {}),
    requests: bodies.map((body) => ({ method: 'POST', path: '/v1/predict', headers: { 'content-type': 'application/json' }, body })),
  };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', CHILD], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out) as autocannon.Result) : reject(new Error(`autocannon exited ${code}`)),
    );
    child.stdin.end(JSON.stringify(options));
  });
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
for (const v of Object.keys(servers) as Variant[]) await load(servers[v].url, 2);
const p99: Record<Variant, number[]> = { off: [], capture: [] };
const p50: Record<Variant, number[]> = { off: [], capture: [] };
for (let round = 0; round < rounds; round++) {
  const order: Variant[] = round % 2 === 0 ? ['off', 'capture'] : ['capture', 'off'];
  for (const v of order) {
    const r = await load(servers[v].url, duration);
    if (r.non2xx > 0) throw new Error(`${v}: ${r.non2xx} non-2xx answers`);
    p99[v].push(r.latency.p99);
    p50[v].push(r.latency.p50);
  }
}
for (const v of Object.keys(servers) as Variant[]) await servers[v].close();
const gov = openGovernance(registry, { mustExist: true });
const stored = gov.captures.stats();
gov.close();
const off = median(p99.off);
const on = median(p99.capture);
console.log(
  JSON.stringify(
    {
      p99ms: { off, capture: on },
      p50ms: { off: median(p50.off), capture: median(p50.capture) },
      ratio: on / off,
      addedMs: on - off,
      stored,
    },
    null,
    2,
  ),
);

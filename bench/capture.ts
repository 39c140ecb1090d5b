/**
 * `npx tsx bench/capture.ts`: what capture costs a request, measured two ways. One small MLP
 * is served twice in this process on loopback, both with the abstain layer flagging every
 * answer (every request is a capture candidate, the worst case); one stores them in a
 * registry's capture store, the other does not.
 *
 * (a) Direct: the capture server is given a timing sink (`captureTiming`), so the capture
 *     hook's synchronous time on each request is read with `process.hrtime.bigint` inside the
 *     server, and so is each batch handed to the writer thread (event-loop time between
 *     requests). p50/p99/max over every measured request.
 * (b) End to end: a child process offers a fixed request rate (open loop, well below
 *     saturation) and times every request with `hrtime` (sub-millisecond, unlike
 *     autocannon's whole milliseconds). Rounds alternate the order of the two servers;
 *     per-variant numbers are medians over rounds, the difference is also given as the
 *     median of the per-round differences, and p99 over all rounds' requests pooled.
 *
 * Also per variant: the event loop's delay (a 1 ms timer's lateness; medians over rounds)
 * and the main thread's GC pauses, while that variant was under load.
 *
 * Target: capture adds at most 1 ms to a request's p99.
 * Flags: --duration 10 (s per round) --rounds 5 --rate 100 (requests/s) --connections 8
 */
import { parseArgs } from 'node:util';
import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver, monitorEventLoopDelay } from 'node:perf_hooks';
import { initEngine } from '../src/engine/backend.js';
import { buildModel } from '../src/models/architectures.js';
import { saveClassifierModel } from '../src/models/store.js';
import { trainModel } from '../src/training/trainer.js';
import { selectData } from '../src/pipeline/data-selection.js';
import { takeFirst } from '../src/data/index.js';
import { buildServer, type CaptureTimingSink } from '../src/serve/app.js';
import type { ServeConfigInput } from '../src/serve/config.js';
import { directorySource } from '../src/serve/model-source.js';
import { openGovernance } from '../src/governance/index.js';
import { reportErrorsPlainly } from './support.js';

reportErrorsPlainly();
const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '5' },
    rate: { type: 'string', default: '100' },
  },
});
const duration = Number(values.duration);
const connections = Number(values.connections);
const rounds = Number(values.rounds);
const rate = Number(values.rate);
if (!(rate > 0 && rate <= 2000)) throw new Error('--rate must be in (0, 2000] requests per second');

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

// The sink only collects; the statistics are computed after the runs.
const hookNs = { captured: [] as number[], other: [] as number[] };
const handOverNs: number[] = [];
let handOverItems = 0;
const sink: CaptureTimingSink = {
  request: (ns, captured) => (captured ? hookNs.captured : hookNs.other).push(Number(ns)),
  handOver: (ns, items) => {
    handOverNs.push(Number(ns));
    handOverItems += items;
  },
};

const servers = {} as Record<Variant, { url: string; close: () => Promise<void> }>;
for (const v of Object.keys(variants) as Variant[]) {
  const app = await buildServer({
    source: directorySource({ dir: join(work, 'model') }),
    config: variants[v],
    ...(v === 'capture' ? { captureTiming: sink } : {}),
  });
  servers[v] = { url: await app.listen({ port: 0, host: '127.0.0.1' }), close: () => app.close() };
}

const bodies = Array.from({ length: test.count }, (_, i) =>
  JSON.stringify({ inputs: [Array.from(test.x.subarray(i * 784, (i + 1) * 784), (v) => Math.round(v * 1000) / 1000)] }),
);

// The load generator: an open loop (request i is sent at start + i/rate whether or not earlier
// ones are answered), each request timed from its dispatch to its last byte with hrtime.
const CHILD = `
const http = require('node:http');
let input = '';
process.stdin.on('data', (c) => (input += c));
process.stdin.on('end', () => {
  const { url, rate, seconds, connections, bodies } = JSON.parse(input);
  const u = new URL(url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const total = Math.round(rate * seconds);
  const lat = new Array(total);
  let done = 0, errors = 0, non2xx = 0, sent = 0, maxLateMs = 0;
  const start = process.hrtime.bigint();
  const send = (i) => {
    const body = bodies[i % bodies.length];
    const t0 = process.hrtime.bigint();
    const req = http.request({ host: u.hostname, port: u.port, path: '/v1/predict', method: 'POST', agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      if (res.statusCode !== 200) non2xx++;
      res.on('data', () => {});
      res.on('end', () => { lat[i] = Number(process.hrtime.bigint() - t0) / 1e6; finish(); });
    });
    req.on('error', () => { errors++; lat[i] = NaN; finish(); });
    req.end(body);
  };
  const finish = () => {
    if (++done < total) return;
    agent.destroy();
    process.stdout.write(JSON.stringify({ lat: lat.filter((x) => Number.isFinite(x)), errors, non2xx, maxLateMs }));
  };
  const tick = () => {
    const now = Number(process.hrtime.bigint() - start) / 1e6;
    while (sent < total && (sent * 1000) / rate <= now) {
      maxLateMs = Math.max(maxLateMs, now - (sent * 1000) / rate);
      send(sent++);
    }
    if (sent < total) setTimeout(tick, Math.max(0, (sent * 1000) / rate - now));
  };
  tick();
});`;

interface LoadResult {
  lat: number[];
  errors: number;
  non2xx: number;
  maxLateMs: number;
}

function load(url: string, seconds: number): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', CHILD], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as LoadResult) : reject(new Error(`load generator exited ${code}`))));
    child.stdin.end(JSON.stringify({ url, rate, seconds, connections, bodies }));
  });
}

const sorted = (xs: number[]): number[] => [...xs].sort((a, b) => a - b);
const quantile = (s: number[], q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
const median = (xs: number[]): number => quantile(sorted(xs), 0.5);
const round3 = (x: number): number => Math.round(x * 1000) / 1000;
const summary = (ns: number[]) => {
  const s = sorted(ns);
  const us = (x: number) => round3(x / 1000);
  // Wall time: on a busy machine the top of the tail includes the thread being descheduled, hence p90 and the count over 1 ms too.
  return {
    count: s.length,
    p50us: us(quantile(s, 0.5)),
    p90us: us(quantile(s, 0.9)),
    p99us: us(quantile(s, 0.99)),
    maxUs: us(s[s.length - 1] ?? NaN),
    over1ms: s.filter((x) => x > 1e6).length,
  };
};

for (const v of Object.keys(servers) as Variant[]) await load(servers[v].url, 2);
hookNs.captured.length = 0;
hookNs.other.length = 0;
handOverNs.length = 0;
handOverItems = 0;

const stat = { p50: { off: [], capture: [] }, p99: { off: [], capture: [] }, p999: { off: [], capture: [] } } as Record<
  'p50' | 'p99' | 'p999',
  Record<Variant, number[]>
>;
const maxLate: number[] = [];
// Every latency of every round too: with rounds interleaved both variants meet the same
// background load, and a p99 over thousands of requests is steadier than one per round.
const pooled: Record<Variant, number[]> = { off: [], capture: [] };
// The server process's own pauses per variant: garbage collection on the main thread, and
// how late the event loop ran a 1 ms timer (descheduling included, so compare the variants).
const gc: Record<Variant, number[]> = { off: [], capture: [] };
let current: Variant | undefined;
const gcObserver = new PerformanceObserver((list) => {
  if (current) for (const e of list.getEntries()) gc[current].push(e.duration);
});
gcObserver.observe({ entryTypes: ['gc'] });
const loopDelay = { p99: { off: [], capture: [] }, max: { off: [], capture: [] } } as Record<'p99' | 'max', Record<Variant, number[]>>;
for (let round = 0; round < rounds; round++) {
  const order: Variant[] = round % 2 === 0 ? ['off', 'capture'] : ['capture', 'off'];
  for (const v of order) {
    const delay = monitorEventLoopDelay({ resolution: 1 });
    delay.enable();
    current = v;
    const r = await load(servers[v].url, duration);
    current = undefined;
    delay.disable();
    loopDelay.p99[v].push(delay.percentile(99) / 1e6);
    loopDelay.max[v].push(delay.max / 1e6);
    if (r.non2xx > 0 || r.errors > 0) throw new Error(`${v}: ${r.non2xx} non-2xx answers, ${r.errors} errors`);
    const s = sorted(r.lat);
    for (const x of r.lat) pooled[v].push(x);
    stat.p50[v].push(quantile(s, 0.5));
    stat.p99[v].push(quantile(s, 0.99));
    stat.p999[v].push(quantile(s, 0.999));
    maxLate.push(r.maxLateMs);
  }
}
gcObserver.disconnect();
for (const v of Object.keys(servers) as Variant[]) await servers[v].close();
const gov = openGovernance(registry, { mustExist: true });
const stored = gov.captures.stats();
gov.close();

const diffs = (k: 'p50' | 'p99' | 'p999') => stat[k].capture.map((c, i) => c - (stat[k].off[i] as number));
const hand = summary(handOverNs);
console.log(
  JSON.stringify(
    {
      setup: { rate, duration, rounds, connections, loadavg: loadavg().map(round3) },
      direct: {
        hookOnCapturedRequests: summary(hookNs.captured),
        hookOnOtherRequests: summary(hookNs.other),
        handOverPerBatch: { ...hand, meanItems: round3(handOverItems / Math.max(1, handOverNs.length)) },
        target: 'hook p99 < 1000 us, and no batch hand-over blocking the event loop for 1 ms',
      },
      serverPauses: {
        eventLoopDelayP99Ms: { off: round3(median(loopDelay.p99.off)), capture: round3(median(loopDelay.p99.capture)) },
        eventLoopDelayMaxMs: { off: round3(median(loopDelay.max.off)), capture: round3(median(loopDelay.max.capture)) },
        gc: Object.fromEntries(
          (['off', 'capture'] as const).map((v) => [
            v,
            { count: gc[v].length, totalMs: round3(gc[v].reduce((a, b) => a + b, 0)), maxMs: round3(Math.max(0, ...gc[v])) },
          ]),
        ),
      },
      endToEndMs: {
        p50: { off: round3(median(stat.p50.off)), capture: round3(median(stat.p50.capture)) },
        p99: { off: round3(median(stat.p99.off)), capture: round3(median(stat.p99.capture)) },
        p999: { off: round3(median(stat.p999.off)), capture: round3(median(stat.p999.capture)) },
        pooledP99: { off: round3(quantile(sorted(pooled.off), 0.99)), capture: round3(quantile(sorted(pooled.capture), 0.99)) },
        pooledP999: { off: round3(quantile(sorted(pooled.off), 0.999)), capture: round3(quantile(sorted(pooled.capture), 0.999)) },
        p99PerRound: { off: stat.p99.off.map(round3), capture: stat.p99.capture.map(round3) },
        addedMedianOfRoundDiffs: {
          p50: round3(median(diffs('p50'))),
          p99: round3(median(diffs('p99'))),
          p999: round3(median(diffs('p999'))),
        },
        loadGeneratorMaxLateMs: round3(Math.max(...maxLate)),
      },
      stored,
    },
    null,
    2,
  ),
);

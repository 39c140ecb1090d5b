/**
 * `npx tsx bench/serve-ensemble.ts`: what an ensemble adds to the serving path's model cost,
 * apart from HTTP (which `bench/serve.ts` includes, and which a loaded machine drowns in
 * noise). Per single-example request, the served model's `infer` as `rampart serve` runs it:
 *   bare      the primary model alone (cnn by default);
 *   separate  the primary, then the MLP member as a second model through the Layers API and
 *             an argMax kernel (the ensemble layer's `models: [...]` path before the member
 *             thread: its own input tensor, forward pass and download);
 *   inline    the same on the serving thread, the member as fused matmuls and the argmax in JS
 *             (what the layer falls back to when the member thread cannot take a batch);
 *   thread    the member handed to the member thread before the primary runs, collected
 *             after it (`rampart serve` with `ensemble: { models: [...] }`);
 *   fused-inline  one graph holding the primary and the MLP member (mean of logits), served
 *             member by member on the serving thread, mean and labels in JS;
 *   fused     the same model as `rampart serve` runs it (`ensemble: { fused: true }`): the
 *             MLP member on the member thread while the primary member runs here;
 *   heads     a multi-head model (`--method diversified --heads K`, defenses/ensemble/heads.ts):
 *             the primary's trunk once and K dense heads as one matmul, mean and labels in JS,
 *             as `rampart serve` runs it.
 * Requests are sequential (one in flight: the non-saturated case; `npm run bench:serve`
 * measures saturation). Rounds alternate the variants (rotating order); per round: p50 and
 * p99 over `--requests` calls, process CPU per call (every thread, the member thread
 * included), serving-thread CPU per call (Linux schedstat: what bounds throughput when the
 * second core is free) and busy time (event-loop utilisation, in the JSON). Reported:
 * medians over rounds, and the median over rounds of each round's ratio to bare.
 * Flags: --arch cnn|mlp --heads 4 --requests 400 --rounds 7 --out bench/results/serve-ensemble.json
 */
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
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
import { buildMultiHead } from '../src/defenses/ensemble/heads.js';
import { imageServedModel, outputFromLogits } from '../src/serve/served-model.js';
import { loadEnsembleMembers } from '../src/serve/prepare.js';
import { loadParallelMembers } from '../src/defenses/ensemble/parallel.js';
import { fusedHeads } from '../src/defenses/ensemble/fused-serve.js';
import { formatTable } from '../src/report/table.js';
import { createRng } from '../src/core/rng.js';
import { reportErrorsPlainly } from './support.js';

reportErrorsPlainly();
const { values } = parseArgs({
  options: {
    arch: { type: 'string', default: 'cnn' },
    heads: { type: 'string', default: '4' },
    requests: { type: 'string', default: '400' },
    rounds: { type: 'string', default: '7' },
    out: { type: 'string', default: 'bench/results/serve-ensemble.json' },
  },
});
const arch = values.arch ?? 'cnn';
const requests = Number(values.requests);
const rounds = Number(values.rounds);
const headCount = Number(values.heads);
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
const multiHead = buildMultiHead(arch, { ...shape, seed: 1, heads: headCount });
multiHead.members.dispose();
const headsDir = await save(multiHead.model, 'heads', `heads:${arch}x${headCount}`);

const ref = (dir: string) => ({ source: 'dir' as const, dir });
const bare = imageServedModel(await loadClassifierModel(primaryDir), { ref: ref(primaryDir), id: 'bare' });
// What imageServedModel does with a fused ensemble (src/serve/served-model.ts), with the thread's start awaited.
const fusedStored = await loadClassifierModel(fusedDir);
const fusedInline = fusedHeads(fusedStored.model, { threads: false });
const fusedThread = fusedHeads(fusedStored.model, { dir: fusedDir });
if (!fusedInline || !fusedThread) throw new Error('the fused model is not a fused ensemble');
await fusedThread.ready();
const headsStored = await loadClassifierModel(headsDir);
const multiHeads = fusedHeads(headsStored.model, { dir: headsDir });
if (!multiHeads || multiHeads.members !== headCount) throw new Error('the multi-head model is not served as its heads');
if (fusedThread.mode() !== 'thread') throw new Error('the fused member thread did not start');
const { members, dispose: disposeMembers } = await loadEnsembleMembers([memberDir], [28, 28, 1]);
const parallel = await loadParallelMembers([memberDir], [28, 28, 1]);
await parallel.ready();
if (parallel.mode() !== 'thread') throw new Error(`the member thread did not start: ${parallel.reason()}`);

const rng = createRng(7);
const inputs = Array.from({ length: 64 }, () => Float32Array.from({ length: 784 }, () => rng.next()));
const batchOf = (i: number) => ({ x: inputs[i % inputs.length] as Float32Array, count: 1, shape: [28, 28, 1] });

let threadAnswered = 0;
let threadCalls = 0;
type Variant = 'bare' | 'separate' | 'inline' | 'thread' | 'fused-inline' | 'fused' | 'heads';
const call: Record<Variant, (i: number) => Promise<unknown>> = {
  bare: (i) => bare.infer({ batch: batchOf(i) }),
  separate: async (i) => {
    const out = await bare.infer({ batch: batchOf(i) });
    await members[0]?.predictBatch?.(batchOf(i));
    return out;
  },
  inline: async (i) => {
    const out = await bare.infer({ batch: batchOf(i) });
    await parallel.members[0]?.predictBatch?.(batchOf(i));
    return out;
  },
  thread: async (i) => {
    const pending = parallel.start(batchOf(i));
    const out = await bare.infer({ batch: batchOf(i) });
    // As the layer does: a batch the thread has not begun is taken back and run here.
    if (await pending?.()) threadAnswered += 1;
    else await parallel.members[0]?.predictBatch?.(batchOf(i));
    threadCalls += 1;
    return out;
  },
  'fused-inline': (i) => {
    const { logits, memberLabels } = fusedInline.runInline(batchOf(i));
    return Promise.resolve({ ...outputFromLogits(logits, 1), memberLabels });
  },
  fused: async (i) => {
    const { logits, memberLabels } = await fusedThread.run(batchOf(i));
    return { ...outputFromLogits(logits, 1), memberLabels };
  },
  heads: async (i) => {
    const { logits, memberLabels } = await multiHeads.run(batchOf(i));
    return { ...outputFromLogits(logits, 1), memberLabels };
  },
};
const variants = Object.keys(call) as Variant[];
const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
};
const median = (xs: number[]): number => quantile(xs, 0.5);
for (const v of variants) for (let i = 0; i < 100; i++) await call[v](i);
/** CPU time of this (the serving) thread in ms, from Linux schedstat (ns on the CPU); NaN elsewhere. */
const threadCpuMs = (): number => {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return Number.NaN;
  }
};
interface Round {
  p50: number;
  p99: number;
  /** Process CPU (all threads) per call, ms. */
  cpu: number;
  /** Serving-thread busy time per call (event-loop utilisation), ms. */
  busy: number;
  /** Serving-thread CPU per call (schedstat), ms. */
  mainCpu: number;
}
const measured = Object.fromEntries(variants.map((v) => [v, [] as Round[]])) as Record<Variant, Round[]>;
/** Every request's time per variant over all rounds: a round's p99 is its 4th-slowest of 400, so scheduler noise decides it. */
const pooled = Object.fromEntries(variants.map((v) => [v, [] as number[]])) as Record<Variant, number[]>;
const tensors = tf.memory().numTensors;
for (let round = 0; round < rounds; round++) {
  const order = variants.map((_, i) => variants[(i + round) % variants.length] as Variant);
  for (const v of order) {
    const ms: number[] = [];
    const cpu0 = process.cpuUsage();
    const elu0 = performance.eventLoopUtilization();
    const main0 = threadCpuMs();
    for (let i = 0; i < requests; i++) {
      const t0 = performance.now();
      await call[v](i);
      ms.push(performance.now() - t0);
    }
    const cpu = process.cpuUsage(cpu0);
    const elu = performance.eventLoopUtilization(elu0);
    pooled[v].push(...ms);
    measured[v].push({
      p50: median(ms),
      p99: quantile(ms, 0.99),
      cpu: (cpu.user + cpu.system) / 1000 / requests,
      busy: elu.active / requests,
      mainCpu: (threadCpuMs() - main0) / requests,
    });
  }
  console.error(`round ${round + 1}: ${variants.map((v) => `${v} p99 ${measured[v].at(-1)?.p99.toFixed(3)} ms`).join(', ')}`);
}
const leaked = tf.memory().numTensors - tensors;
const stat = (v: Variant, key: keyof Round): number => median(measured[v].map((r) => r[key]));
/** Median over rounds of the round's `key` for `v` over bare's in the same round, minus 1. */
const ratio = (v: Variant, key: keyof Round): number =>
  median(measured[v].map((r, i) => r[key] / ((measured.bare[i] as Round)[key] || Number.NaN))) - 1;
const summary = Object.fromEntries(
  variants.map((v) => [
    v,
    {
      p50: stat(v, 'p50'),
      p99: stat(v, 'p99'),
      cpuPerCall: stat(v, 'cpu'),
      busyPerCall: stat(v, 'busy'),
      mainCpuPerCall: stat(v, 'mainCpu'),
      p50Overhead: ratio(v, 'p50'),
      p99Overhead: ratio(v, 'p99'),
      pooledP99: quantile(pooled[v], 0.99),
      pooledP99Overhead: quantile(pooled[v], 0.99) / quantile(pooled.bare, 0.99) - 1,
      cpuOverhead: ratio(v, 'cpu'),
      busyOverhead: ratio(v, 'busy'),
      mainCpuOverhead: ratio(v, 'mainCpu'),
    },
  ]),
) as unknown as Record<Variant, Record<string, number>>;
const result = {
  kind: 'rampart.bench.serve-ensemble',
  schemaVersion: 2,
  at: new Date().toISOString(),
  engine,
  primary: arch,
  member: 'mlp',
  heads: headCount,
  settings: { requests, rounds },
  summary,
  rounds: measured,
  target: { maxP99Overhead: 0.1, met: Object.fromEntries(variants.map((v) => [v, (summary[v]?.p99Overhead ?? 1) <= 0.1])) },
  /** Share of `thread` calls whose member ran on the member thread (the rest were taken back). */
  threadShare: threadAnswered / Math.max(1, threadCalls),
  leakedTensors: leaked,
  loadAverage: loadavg(),
  cores: availableParallelism(),
};
await writeJsonFile(values.out ?? 'bench/results/serve-ensemble.json', result);
const pct = (x: number | undefined): string => (x === undefined ? '' : `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`);
console.log(
  formatTable(
    [
      'variant',
      'p50 ms',
      'p99 ms',
      'CPU/call ms',
      'main CPU/call ms',
      'p50 vs bare',
      'p99 vs bare',
      'pooled p99 vs bare',
      'CPU vs bare',
      'main CPU vs bare',
    ],
    variants.map((v) => {
      const r = summary[v] as Record<string, number>;
      const bareRow = v === 'bare';
      return [
        v,
        (r.p50 as number).toFixed(3),
        (r.p99 as number).toFixed(3),
        (r.cpuPerCall as number).toFixed(3),
        (r.mainCpuPerCall as number).toFixed(3),
        bareRow ? '' : pct(r.p50Overhead),
        bareRow ? '' : pct(r.p99Overhead),
        bareRow ? '' : pct(r.pooledP99Overhead),
        bareRow ? '' : pct(r.cpuOverhead),
        bareRow ? '' : pct(r.mainCpuOverhead),
      ];
    }),
  ),
);
console.log(
  `load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(
      ', ',
    )} on ${availableParallelism()} cores; leaked tensors ${leaked}; thread answered ${((threadAnswered / Math.max(1, threadCalls)) * 100).toFixed(1)}% of its calls`,
);
bare.dispose();
fusedThread.dispose();
fusedStored.model.dispose();
multiHeads.dispose();
headsStored.model.dispose();
disposeMembers();
await parallel.dispose();

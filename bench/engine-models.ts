/**
 * bench:engine's real-model workloads: CIFAR-shaped nets (3x32x32) against PyTorch on the
 * same weights, both on all cores, medians of alternating rounds.
 *
 * - `resnet20`: ResNet-20 (stride-2 convs, batch norm, residual adds, global average pool);
 * - `mobilenet-lite`: MobileNet-v1 style depthwise-separable blocks;
 * - `onnx-cifar-resnet`: fixtures/onnx/cifar-resnet.onnx through Rampart's ONNX importer
 *   (grouped/dilated convs, concat, pools; batch norm folded or in inference mode).
 *
 * Weights: scripts/torch_nets.py builds the net in PyTorch from a seed and writes its
 * weights in TF.js layouts plus a probe (input, eval/train logits, input gradient); the
 * TF.js net loads them and must match the probe to 1e-4 before anything is timed. The
 * PyTorch timing child (bench/torch_engine.py) builds the same seeded net; for the ONNX
 * workload both sides read the same file. PyTorch runs with OPENBLAS_CORETYPE and
 * OPENBLAS_L2_SIZE removed from its environment (they slow its BLAS path on this machine);
 * Rampart's processes keep theirs.
 *
 * Per round and workload: Rampart in this thread (PGD step; PGD-AT step), Rampart on the
 * worker pool (a 10-step PGD attack counted in gradient steps taken; a `pgd-at` training
 * step), then PyTorch in a child process, in one thread and on all cores (the table gives
 * both ratios: pool / all cores, and one thread / one thread). The pooled attack does a
 * little more than its count: each of its 10 counted steps is the same forward + input
 * gradient + ascent step as R1t's and PyTorch's, and on top it checks the final point with
 * one more forward pass (about half a step) and keeps each example's best point, so the
 * pool's figures are, if anything, low. A 32-row batch is one 64-row seeding shard; the pool
 * splits it across the workers without changing a number (attack-shards.ts). `speedup` is
 * the median of the per-round R<N>w / R1t (the pool against this thread, same round).
 * Memory: one PGD-AT step in a fresh
 * process on each side (bench/engine-memory.ts; torch_engine.py --memory), peak RSS, and
 * TF.js's peak tensor bytes from tf.profile.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import * as tf from '@tensorflow/tfjs';

import { createWorkerPool } from '../src/execution/pool/index.js';
import { buildCnnZooModel, setNamedWeights } from '../src/models/cnn-zoo.js';
import { trainableOnnx } from '../src/models/onnx/trainable.js';
import { threatModel } from '../src/threats/threat-model.js';
import { CIFAR_PGD_SETTINGS, createModelWorkload, parityErrors, readTorchExport } from './model-steps.js';
import { median } from './support.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.join(HERE, '..');
export const MODEL_WORKLOADS = ['resnet20', 'mobilenet-lite', 'onnx-cifar-resnet'] as const;
export type ModelWorkloadId = (typeof MODEL_WORKLOADS)[number];
const ONNX_FIXTURE = path.join(ROOT, 'fixtures', 'onnx', 'cifar-resnet.onnx');
const INPUT_SHAPE = [32, 32, 3] as const;
const PARITY_TOLERANCE = 1e-4;
const WARMUP_MS = 3000;
const OPENBLAS_VARS = ['OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE'] as const;

/** The environment for the PyTorch child: ours without the OpenBLAS overrides, and which were removed. */
export function torchEnvironment(): { env: NodeJS.ProcessEnv; unset: string[] } {
  const env = { ...process.env };
  const unset = OPENBLAS_VARS.filter((k) => k in env);
  for (const k of unset) delete env[k];
  return { env, unset };
}

function torchNet(id: ModelWorkloadId): string {
  return id === 'onnx-cifar-resnet' ? `onnx:${ONNX_FIXTURE}` : id;
}

function runJson(command: string, args: string[], env?: NodeJS.ProcessEnv): Record<string, unknown> {
  const child = spawnSync(command, args, { encoding: 'utf8', cwd: ROOT, env: env ?? process.env, timeout: 30 * 60 * 1000 });
  if (child.error !== undefined) throw new Error(`could not run ${command}: ${child.error.message}`);
  const last = child.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(last) as Record<string, unknown>;
  } catch {
    const stderr = child.stderr.trim().split('\n').slice(-3).join(' | ');
    throw new Error(`${command} ${args.join(' ')} exited with ${child.status ?? child.signal}: ${stderr || 'no output'}`);
  }
}

/** The TF.js model of a workload, with the weights PyTorch wrote to `dir` (or the ONNX fixture). */
export function loadWorkloadModel(id: ModelWorkloadId, dir: string): { model: tf.LayersModel; dispose(): void } {
  if (id === 'onnx-cifar-resnet') {
    const bytes = new Uint8Array(readFileSync(ONNX_FIXTURE));
    const t = trainableOnnx({ bytes, path: ONNX_FIXTURE, id, preprocess: { layout: 'nchw' } });
    return { model: t.model, dispose: () => t.dispose() };
  }
  const model = buildCnnZooModel(id, { inputShape: INPUT_SHAPE, numClasses: 10, seed: 1 });
  setNamedWeights(model, readTorchExport(dir));
  return { model, dispose: () => model.dispose() };
}

export interface ModelBenchOptions {
  ids: readonly ModelWorkloadId[];
  batch: number;
  reps: number;
  atReps: number;
  rounds: number;
  workers: number;
  /** Python with torch, or undefined to measure Rampart alone. */
  python: string | undefined;
}

export interface ModelRow {
  id: ModelWorkloadId;
  parity: { eval: number; train: number; gradX: number };
  /** examples/s (pool PGD: gradient steps per second), medians over rounds. */
  rampart1t: { pgd: number; at: number };
  rampartPool: { pgd: number; at: number };
  /** Workers behind `rampartPool` (1: this thread, for a model the pool cannot rebuild). */
  rampartWorkers: number;
  torchAll?: { pgd: number; at: number; threads: number };
  torch1t?: { pgd: number; at: number };
  /** Medians of the per-round ratios pool / torch on all cores. */
  ratio?: { pgd: number; at: number };
  /**
   * Medians of the per-round ratios Rampart in one thread / torch in one thread: the
   * like-for-like figure. On a loaded machine PyTorch's all-core run can collapse (its
   * OpenMP threads wait on each other), which flatters `ratio`; this one does not.
   */
  ratio1t?: { pgd: number; at: number };
  /** Medians of the per-round ratios pool / this thread (what the workers add). */
  speedup: { pgd: number; at: number };
  /**
   * Medians of the per-round ratios CPU time per unit, pool / this thread (all threads of
   * this process): the pool's extra work, which a loaded machine does not hide the way it
   * hides `speedup` (with the scheduler's autogroups, a busy machine gives this process
   * about one share whatever its thread count).
   */
  cpuRatio: { pgd: number; at: number };
  memory: { rampartPeakRss: number; rampartTensorPeakBytes: number; rampartWasmHeapBytes: number; torchPeakRss?: number };
  loadAverage: number[];
}

/** CPU time of this process, all threads (the pool's workers are threads), in ms. */
function cpuMs(): number {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
}

/** Median wall ms of `reps` calls, and the mean CPU ms per call (all threads). */
function timeMs(f: () => void, reps: number): { ms: number; cpu: number } {
  f();
  const times: number[] = [];
  const cpu0 = cpuMs();
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    f();
    times.push(performance.now() - t0);
  }
  return { ms: median(times), cpu: (cpuMs() - cpu0) / reps };
}

/** The median-wall call of `reps` (its ms and units), and CPU ms per unit over all of them. */
async function timeAsync(f: () => Promise<number>, reps: number): Promise<{ ms: number; units: number; cpuPerUnit: number }> {
  await f();
  const runs: { ms: number; units: number }[] = [];
  const cpu0 = cpuMs();
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    const units = await f();
    runs.push({ ms: performance.now() - t0, units });
  }
  const cpuPerUnit = (cpuMs() - cpu0) / runs.reduce((s, r) => s + r.units, 0);
  const ms = median(runs.map((r) => r.ms));
  return { ...(runs.find((r) => r.ms === ms) ?? runs[0]!), cpuPerUnit };
}

async function benchOne(id: ModelWorkloadId, o: ModelBenchOptions, dir: string, log: (s: string) => void): Promise<ModelRow> {
  const { env, unset } = torchEnvironment();
  const python = o.python;
  if (python !== undefined) runJson(python, [path.join(ROOT, 'scripts', 'torch_nets.py'), '--net', torchNet(id), '--out', dir], env);
  else if (id !== 'onnx-cifar-resnet')
    runJson('/usr/bin/python3', [path.join(ROOT, 'scripts', 'torch_nets.py'), '--net', id, '--out', dir]);
  const loaded = loadWorkloadModel(id, dir);
  const parity = parityErrors(loaded.model, readTorchExport(dir));
  const worst = Math.max(parity.eval, parity.train, parity.gradX);
  log(
    `  ${id}: parity with PyTorch (max rel. error) eval ${parity.eval.toExponential(1)}, train ${parity.train.toExponential(1)}, input gradient ${parity.gradX.toExponential(1)}`,
  );
  if (!(worst <= PARITY_TOLERANCE))
    throw new Error(`${id}: TF.js and PyTorch disagree by ${worst} (> ${PARITY_TOLERANCE}); not timing different functions.`);

  const w = createModelWorkload(loaded.model, INPUT_SHAPE, 10, o.batch);
  // A trainable ONNX copy cannot be rebuilt in pool workers (E_POOL_MODEL): that workload
  // runs in this thread only, so its "all cores" figures are one core's.
  const pooled = id !== 'onnx-cifar-resnet';
  const pool = pooled ? await createWorkerPool({ workers: o.workers }) : undefined;
  const handle = pool === undefined ? undefined : await pool.loadModel(loaded.model);
  const xs = w.x.dataSync() as Float32Array;
  const labels = Int32Array.from({ length: o.batch }, (_, i) => (i * 7) % 10);
  const threat = threatModel({ norm: 'linf', epsilon: CIFAR_PGD_SETTINGS.epsilon });
  const attackOptions = { steps: CIFAR_PGD_SETTINGS.attackSteps, stepSize: CIFAR_PGD_SETTINGS.stepSize, randomStart: false, restarts: 1 };
  const objective = {
    id: 'pgd-at',
    options: {
      threat: { norm: 'linf' as const, epsilon: CIFAR_PGD_SETTINGS.epsilon },
      steps: CIFAR_PGD_SETTINGS.attackSteps,
      stepSize: CIFAR_PGD_SETTINGS.stepSize,
    },
  };
  const adam = tf.train.adam(CIFAR_PGD_SETTINGS.learningRate);
  let step = 0;
  const rounds: {
    r1: { pgd: number; at: number };
    pool: { pgd: number; at: number };
    cpuRatio: { pgd: number; at: number };
    torch?: { pgd: number; at: number; threads: number };
    torch1t?: { pgd: number; at: number };
  }[] = [];
  const unsetText = unset.length > 0 ? `unset ${unset.join(', ')}` : `none of ${OPENBLAS_VARS.join(', ')} set`;
  log(`  ${id}: PyTorch child environment: ${unsetText}`);
  try {
    let current = tf.clone(w.x);
    // A few seconds of PGD steps first, for V8's tier-up of the JS kernels and XNNPACK's operators.
    for (const t0 = performance.now(); performance.now() - t0 < WARMUP_MS;) tf.dispose(w.pgdStep(w.x));
    for (let r = 1; r <= o.rounds; r++) {
      const pgdTime = timeMs(() => {
        const next = w.pgdStep(current);
        next.dataSync();
        current.dispose();
        current = next;
      }, o.reps);
      const atTime = timeMs(() => w.pgdAtStep(), o.atReps);
      const r1 = { pgd: (o.batch * 1000) / pgdTime.ms, at: (o.batch * 1000) / atTime.ms };
      let poolRates = r1;
      let cpuRatio = { pgd: 1, at: 1 };
      if (pool !== undefined && handle !== undefined) {
        const pgd = await timeAsync(async () => {
          const res = await pool.attack(handle, { attackId: 'pgd', attackOptions, threat, x: xs, labels, seed: 1 });
          return res.queries.reduce((s, q) => s + Math.max(0, q - 1), 0);
        }, o.reps);
        const at = await timeAsync(async () => {
          step++;
          await pool.trainStep(handle, loaded.model, adam, { x: xs, labels, objective, batch: { epoch: 0, step, seed: step } });
          return o.batch;
        }, o.atReps);
        poolRates = { pgd: (pgd.units * 1000) / pgd.ms, at: (o.batch * 1000) / at.ms };
        cpuRatio = { pgd: pgd.cpuPerUnit / (pgdTime.cpu / o.batch), at: at.cpuPerUnit / (atTime.cpu / o.batch) };
      }
      const round: (typeof rounds)[number] = { r1, pool: poolRates, cpuRatio };
      if (python !== undefined) {
        const args = ['--net', torchNet(id), '--batch', String(o.batch), '--reps', String(o.reps), '--at-reps', String(o.atReps)];
        const t = runJson(python, [path.join(HERE, 'torch_engine.py'), ...args], env) as {
          results: Record<'1' | 'all', { threads: number; pgdStepExamplesPerSecond: number; pgdAtStepExamplesPerSecond: number }>;
        };
        round.torch = {
          pgd: t.results.all.pgdStepExamplesPerSecond,
          at: t.results.all.pgdAtStepExamplesPerSecond,
          threads: t.results.all.threads,
        };
        round.torch1t = { pgd: t.results['1'].pgdStepExamplesPerSecond, at: t.results['1'].pgdAtStepExamplesPerSecond };
      }
      rounds.push(round);
      const f = (v: number | undefined) => (v === undefined ? 'n/a' : v.toFixed(1));
      log(
        `  ${id} round ${r}/${o.rounds} (load ${os.loadavg()[0]!.toFixed(2)}): PGD R1t ${f(round.r1.pgd)} R${pool?.size ?? 1}w ${f(round.pool.pgd)} torch ${f(round.torch?.pgd)} torch1t ${f(round.torch1t?.pgd)} speedup ${(round.pool.pgd / round.r1.pgd).toFixed(2)} cpu ${round.cpuRatio.pgd.toFixed(2)}; ` +
          `PGD-AT R1t ${f(round.r1.at)} R${pool?.size ?? 1}w ${f(round.pool.at)} torch ${f(round.torch?.at)} torch1t ${f(round.torch1t?.at)} speedup ${(round.pool.at / round.r1.at).toFixed(2)} cpu ${round.cpuRatio.at.toFixed(2)}`,
      );
    }
    current.dispose();
  } finally {
    adam.dispose();
    if (pool !== undefined && handle !== undefined) {
      await pool.unloadModel(handle);
      await pool.close();
    }
    w.dispose();
  }
  const rampartMemory = runJson(process.execPath, [
    '--import',
    'tsx',
    path.join(HERE, 'engine-memory.ts'),
    '--workload',
    id,
    '--dir',
    dir,
    '--batch',
    String(o.batch),
  ]) as {
    peakRssBytes: number;
    tensorPeakBytes: number;
    wasmHeapBytes: number;
  };
  const torchMemory =
    python === undefined
      ? undefined
      : (runJson(python, [path.join(HERE, 'torch_engine.py'), '--net', torchNet(id), '--batch', String(o.batch), '--memory'], env) as {
          peakRssBytes: number;
        });
  loaded.dispose();
  const med = (f: (r: (typeof rounds)[number]) => number) => median(rounds.map(f));
  const withTorch = rounds.every((r) => r.torch !== undefined);
  return {
    id,
    parity,
    rampart1t: { pgd: med((r) => r.r1.pgd), at: med((r) => r.r1.at) },
    rampartPool: { pgd: med((r) => r.pool.pgd), at: med((r) => r.pool.at) },
    rampartWorkers: pooled ? o.workers : 1,
    speedup: { pgd: med((r) => r.pool.pgd / r.r1.pgd), at: med((r) => r.pool.at / r.r1.at) },
    cpuRatio: { pgd: med((r) => r.cpuRatio.pgd), at: med((r) => r.cpuRatio.at) },
    ...(withTorch
      ? {
          torchAll: { pgd: med((r) => r.torch!.pgd), at: med((r) => r.torch!.at), threads: rounds[0]!.torch!.threads },
          ratio: { pgd: med((r) => r.pool.pgd / r.torch!.pgd), at: med((r) => r.pool.at / r.torch!.at) },
          torch1t: { pgd: med((r) => r.torch1t!.pgd), at: med((r) => r.torch1t!.at) },
          ratio1t: { pgd: med((r) => r.r1.pgd / r.torch1t!.pgd), at: med((r) => r.r1.at / r.torch1t!.at) },
        }
      : {}),
    memory: {
      rampartPeakRss: rampartMemory.peakRssBytes,
      rampartTensorPeakBytes: rampartMemory.tensorPeakBytes,
      rampartWasmHeapBytes: rampartMemory.wasmHeapBytes,
      ...(torchMemory ? { torchPeakRss: torchMemory.peakRssBytes } : {}),
    },
    loadAverage: os.loadavg(),
  };
}

/** Runs the workloads one after another; each in its own temporary weights directory. */
export async function benchModelWorkloads(o: ModelBenchOptions, log: (s: string) => void = console.log): Promise<ModelRow[]> {
  const rows: ModelRow[] = [];
  for (const id of o.ids) {
    const dir = mkdtempSync(path.join(os.tmpdir(), `rampart-engine-${id}-`));
    try {
      rows.push(await benchOne(id, o, dir, log));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return rows;
}

/** The rows as a table: examples/s, ratios, memory in MB, the load average at the end of each workload. */
export function printModelRows(rows: readonly ModelRow[], workers: number, log: (s: string) => void = console.log): void {
  const f = (v: number | undefined, d = 0) => (v === undefined ? 'n/a' : v.toFixed(d));
  const mb = (v: number | undefined) => (v === undefined ? 'n/a' : (v / 2 ** 20).toFixed(0));
  log(
    `\n  real-model workloads (3x32x32, L∞ 8/255): examples/s (pool PGD: gradient steps/s), medians over rounds; ratio R${workers}w/torch (all cores), ratio1t R1t/torch1t, speedup R${workers}w/R1t, cpu: CPU time per unit R${workers}w/R1t`,
  );
  log(
    `  ${'workload'.padEnd(18)} ${'step'.padEnd(7)} ${'R 1t'.padStart(7)} ${`R ${workers}w`.padStart(7)} ${'torch'.padStart(7)} ${'ratio'.padStart(6)} ${'torch1t'.padStart(8)} ${'ratio1t'.padStart(8)} ${'speedup'.padStart(8)} ${'cpu'.padStart(5)}`,
  );
  for (const r of rows) {
    for (const k of ['pgd', 'at'] as const) {
      log(
        `  ${r.id.padEnd(18)} ${(k === 'pgd' ? 'PGD' : 'PGD-AT').padEnd(7)} ${f(r.rampart1t[k], 1).padStart(7)} ${f(r.rampartPool[k], 1).padStart(7)} ${f(r.torchAll?.[k], 1).padStart(7)} ${f(r.ratio?.[k], 2).padStart(6)} ${f(r.torch1t?.[k], 1).padStart(8)} ${f(r.ratio1t?.[k], 2).padStart(8)} ${f(r.speedup[k], 2).padStart(8)} ${f(r.cpuRatio[k], 2).padStart(5)}` +
          (r.rampartWorkers === 1 ? '  (Rampart on 1 worker: the pool cannot rebuild a trainable ONNX copy)' : ''),
      );
    }
  }
  log(
    `\n  memory, one PGD-AT step in a fresh process (MB): Rampart peak RSS / TF.js peak tensor bytes / wasm heap; PyTorch peak RSS; RSS ratio`,
  );
  for (const r of rows) {
    const m = r.memory;
    const ratio = m.torchPeakRss === undefined ? 'n/a' : (m.rampartPeakRss / m.torchPeakRss).toFixed(2);
    log(
      `  ${r.id.padEnd(18)} ${mb(m.rampartPeakRss).padStart(6)} / ${mb(m.rampartTensorPeakBytes).padStart(5)} / ${mb(m.rampartWasmHeapBytes).padStart(5)}   torch ${mb(m.torchPeakRss).padStart(6)}   ${ratio}   (load ${r.loadAverage.map((l) => l.toFixed(2)).join(' ')})`,
    );
  }
}

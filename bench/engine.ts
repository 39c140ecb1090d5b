/**
 * Engine benchmark: Rampart (TF.js wasm with Rampart's kernels, as `initEngine` starts
 * it) against the same CNN in PyTorch on the CPU, in examples/s, for
 *   (a) one L∞ PGD step: forward + backward to the input + ascent step;
 *   (b) one PGD-AT training step: random start, 10 attack steps, one Adam update.
 * Model conv3x3-32 relu, pool2, conv3x3-64 relu, pool2, flatten, dense128 relu, dense10
 * (`buildModel('cnn', …)`), 28x28x1 inputs, batch 128. The workloads are in
 * bench/cnn-steps.ts and bench/torch_engine.py.
 *
 * The measurement runs in --rounds rounds (default 3). Each round times Rampart (the median
 * of --reps timed repetitions; --at-reps for PGD-AT), then runs bench/torch_engine.py as a
 * child process, so the two never share the CPU; the reported figures are the medians over
 * rounds, and each ratio is the median of the per-round ratios. Alternating the two keeps
 * a drift in machine speed (these are shared virtual machines: the same step has been
 * seen to vary 1.5x within a minute) from landing on one side only. Before the first
 * round, the one-thread workload runs for a few seconds so V8 has tiered the wasm up.
 * Rampart is measured twice: in one thread (the wasm backend is single-threaded; the
 * like-for-like ratio is against PyTorch at 1 thread) and on its worker pool with
 * --workers N (default: every core), which is how `rampart eval` and `rampart train` run;
 * that one compares with PyTorch on all cores. Pooled, (a) is a 10-step PGD attack through
 * `pool.attack` on real digits of a briefly trained CNN, counted as gradient steps actually
 * taken per second (an example whose attack succeeds stops costing; ε is 0.05 so most run
 * all 10 steps — the arithmetic of a step does not depend on ε), end to end: sharding,
 * transfers and the final success check count against us. (b) is `pool.trainStep` with the
 * `pgd-at` objective: each worker attacks its shard (random start, 10 steps) and returns
 * weight gradients; Adam runs here and the new weights are broadcast. Without an importable torch (Debian's
 * python3-torch at /usr/bin/python3 is preferred, since a pyenv python3 on PATH does not
 * see dist-packages) the benchmark says so and reports Rampart alone.
 *
 * Results: a table on stdout and bench/results/engine.json.
 *
 * Run: npm run bench:engine -- [--batch 128] [--reps 7] [--at-reps 3] [--rounds 3] [--workers N] [--python PATH] [--no-torch]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import * as tf from '@tensorflow/tfjs';

import { loadBundledMnist, splitDataset } from '../src/data/index.js';
import { initEngine } from '../src/engine/backend.js';
import { createWorkerPool } from '../src/execution/pool/index.js';
import { buildModel } from '../src/models/architectures.js';
import { threatModel } from '../src/threats/threat-model.js';
import { createCnnWorkload, PGD_SETTINGS } from './cnn-steps.js';
import { median, option, positiveFlag, reportErrorsPlainly } from './support.js';

reportErrorsPlainly();

const HERE = path.dirname(fileURLToPath(import.meta.url));

const BATCH = positiveFlag('batch', 128);
const REPS = positiveFlag('reps', 7);
const AT_REPS = positiveFlag('at-reps', 3);
const ROUNDS = positiveFlag('rounds', 3);
/** Wall time the one-thread workload runs before the first round, for V8's wasm tier-up. */
const WARMUP_MS = 4000;
const NO_TORCH = process.argv.includes('--no-torch');
const WORKERS = positiveFlag('workers', os.availableParallelism());
const ROW = 784;

function medianMs(f: () => void, warmup: number, reps: number): number {
  for (let i = 0; i < warmup; i++) f();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    f();
    times.push(performance.now() - t0);
  }
  return median(times);
}

interface Throughput {
  ms: number;
  examplesPerSecond: number;
}

function throughput(ms: number): Throughput {
  return { ms, examplesPerSecond: (BATCH * 1000) / ms };
}

async function medianMsAsync(f: () => Promise<number>, warmup: number, reps: number): Promise<{ ms: number; units: number }> {
  for (let i = 0; i < warmup; i++) await f();
  const runs: { ms: number; units: number }[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    const units = await f();
    runs.push({ ms: performance.now() - t0, units });
  }
  const ms = median(runs.map((r) => r.ms));
  return runs.find((r) => r.ms === ms) ?? (runs[0] as { ms: number; units: number });
}

interface PooledMeasure {
  /** Gradient steps (example × step) per second in a 10-step PGD attack through the pool. */
  pgdStep: { ms: number; stepsPerAttack: number; examplesPerSecond: number };
  pgdAtStep: Throughput;
}

interface PooledBench {
  workers: number;
  warmupAccuracy: number;
  measure(): Promise<PooledMeasure>;
  close(): Promise<void>;
}

/** The same two workloads on the worker pool, as `rampart eval` / `rampart train` run them. */
async function createPooledBench(): Promise<PooledBench> {
  const { train, test } = splitDataset(loadBundledMnist(), { seed: 7, fractions: { train: 0.8, validation: 0.1, test: 0.1 } });
  const pool = await createWorkerPool({ workers: WORKERS });
  const model = buildModel('cnn', { inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
  const rows = (d: typeof train, start: number) => ({
    x: d.x.slice(start * ROW, (start + BATCH) * ROW),
    labels: d.y.slice(start, start + BATCH),
  });
  const handle = await pool.loadModel(model);
  // A model worth attacking, so the attack does not stop after one step.
  const adam = tf.train.adam(PGD_SETTINGS.learningRate * 2);
  for (let s = 0; s < 24; s++) await pool.trainStep(handle, model, adam, rows(train, (s * BATCH) % (train.count - BATCH)));
  const probe = rows(test, 0);
  const argmax = tf.tidy(() => tf.argMax(model.predict(tf.tensor(probe.x, [BATCH, 28, 28, 1])) as tf.Tensor, 1));
  const predicted = Int32Array.from(argmax.dataSync());
  argmax.dispose();
  const warmupAccuracy = predicted.reduce((sum, p, i) => sum + (p === probe.labels[i] ? 1 : 0), 0) / BATCH;
  const threat = threatModel({ norm: 'linf', epsilon: 0.05 });
  const attackOptions = { steps: PGD_SETTINGS.attackSteps, stepSize: 0.0125, randomStart: false, restarts: 1 };
  const objective = {
    id: 'pgd-at',
    options: {
      threat: { norm: 'linf' as const, epsilon: PGD_SETTINGS.epsilon },
      steps: PGD_SETTINGS.attackSteps,
      stepSize: PGD_SETTINGS.stepSize,
    },
  };
  let step = 0;
  return {
    workers: pool.size,
    warmupAccuracy,
    async measure() {
      const pgd = await medianMsAsync(
        async () => {
          const r = await pool.attack(handle, { attackId: 'pgd', attackOptions, threat, ...probe, seed: 1 });
          // queries = forward passes; all but the last of each example carried a gradient step.
          return r.queries.reduce((sum, q) => sum + Math.max(0, q - 1), 0);
        },
        1,
        REPS,
      );
      const at = await medianMsAsync(
        async () => {
          step++;
          await pool.trainStep(handle, model, adam, {
            ...rows(train, (step * BATCH) % (train.count - BATCH)),
            objective,
            batch: { epoch: 0, step, seed: step },
          });
          return BATCH;
        },
        1,
        AT_REPS,
      );
      return {
        pgdStep: { ms: pgd.ms, stepsPerAttack: pgd.units / BATCH, examplesPerSecond: (pgd.units * 1000) / pgd.ms },
        pgdAtStep: throughput(at.ms),
      };
    },
    async close() {
      adam.dispose();
      await pool.unloadModel(handle);
      model.dispose();
      await pool.close();
    },
  };
}

interface TorchThreads {
  threads: number;
  pgdStepMs: number;
  pgdStepExamplesPerSecond: number;
  pgdAtStepMs: number;
  pgdAtStepExamplesPerSecond: number;
}

interface TorchReport {
  torch: string;
  python: string;
  executable: string;
  cpuCount: number;
  results: { '1': TorchThreads; all: TorchThreads };
}

type TorchOutcome = { ok: true; report: TorchReport } | { ok: false; reason: string };

function pythonExecutable(): string {
  const explicit = option('python');
  if (explicit !== undefined) return explicit;
  return existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
}

function runTorch(): TorchOutcome {
  if (NO_TORCH) return { ok: false, reason: 'skipped (--no-torch)' };
  const python = pythonExecutable();
  const script = path.join(HERE, 'torch_engine.py');
  const child = spawnSync(python, [script, '--batch', String(BATCH), '--reps', String(REPS), '--at-reps', String(AT_REPS)], {
    encoding: 'utf8',
    timeout: 30 * 60 * 1000,
  });
  if (child.error !== undefined) return { ok: false, reason: `could not run ${python}: ${child.error.message}` };
  const lastLine = child.stdout.trim().split('\n').pop() ?? '';
  let parsed: unknown;
  try {
    parsed = JSON.parse(lastLine);
  } catch {
    const stderr = child.stderr.trim().split('\n').slice(-3).join(' | ');
    return { ok: false, reason: `${python} exited with ${child.status ?? child.signal}: ${stderr || 'no output'}` };
  }
  if (typeof parsed === 'object' && parsed !== null && 'error' in parsed)
    return { ok: false, reason: String((parsed as { error: unknown }).error) };
  return { ok: true, report: parsed as TorchReport };
}

async function main(): Promise<void> {
  const info = await initEngine({ backend: 'wasm' });
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  console.log(`Rampart: TF.js ${info.tfjsVersion}, backend ${info.backend} (SIMD ${simd}, threads ${threads}), Node ${process.version}`);
  console.log(`Kernels: ${info.kernelOverrides.join(', ')}`);
  console.log(
    `Machine: ${cpu}, ${os.cpus().length} cores; batch ${BATCH}; median of ${REPS} (PGD step) / ${AT_REPS} (PGD-AT step) repetitions`,
  );
  console.log(
    `PGD: L∞ eps ${PGD_SETTINGS.epsilon}, step ${PGD_SETTINGS.stepSize}, ${PGD_SETTINGS.attackSteps} attack steps per PGD-AT step, Adam lr ${PGD_SETTINGS.learningRate}\n`,
  );

  const w = createCnnWorkload(BATCH);
  let current = tf.clone(w.x);
  const pgdStep = () => {
    const next = w.pgdStep(current);
    next.dataSync();
    current.dispose();
    current = next;
  };
  for (const t0 = performance.now(); performance.now() - t0 < WARMUP_MS;) pgdStep();
  console.log(`Worker pool: ${WORKERS} workers …`);
  const pooledBench = await createPooledBench();
  console.log(`  warm-up CNN accuracy ${(100 * pooledBench.warmupAccuracy).toFixed(0)}% on ${BATCH} test digits`);

  type Row = { pgd: number; at: number };
  interface Round {
    rampart1t: Row;
    rampartPool: Row & { stepsPerAttack: number };
    torch1t?: Row;
    torchAll?: Row;
    torchThreads?: number;
  }
  const rounds: Round[] = [];
  let torchReport: TorchReport | undefined;
  let torchUnavailable: string | undefined;
  const fmt = (v: number | undefined, digits = 0) => (v === undefined ? 'n/a' : v.toFixed(digits));
  for (let r = 1; r <= ROUNDS; r++) {
    const pgdMs = medianMs(pgdStep, 1, REPS);
    const atMs = medianMs(() => w.pgdAtStep(), 1, AT_REPS);
    const pooled = await pooledBench.measure();
    const torch = torchUnavailable === undefined ? runTorch() : ({ ok: false, reason: torchUnavailable } as const);
    if (torch.ok) torchReport = torch.report;
    else torchUnavailable = torch.reason;
    const round: Round = {
      rampart1t: { pgd: throughput(pgdMs).examplesPerSecond, at: throughput(atMs).examplesPerSecond },
      rampartPool: {
        pgd: pooled.pgdStep.examplesPerSecond,
        at: pooled.pgdAtStep.examplesPerSecond,
        stepsPerAttack: pooled.pgdStep.stepsPerAttack,
      },
    };
    if (torch.ok) {
      const { results } = torch.report;
      round.torch1t = { pgd: results['1'].pgdStepExamplesPerSecond, at: results['1'].pgdAtStepExamplesPerSecond };
      round.torchAll = { pgd: results.all.pgdStepExamplesPerSecond, at: results.all.pgdAtStepExamplesPerSecond };
      round.torchThreads = results.all.threads;
    }
    rounds.push(round);
    const ratioText = (a: number, b: number | undefined) => (b === undefined ? 'n/a' : (a / b).toFixed(2));
    console.log(
      `  round ${r}/${ROUNDS}: (a) R1t ${fmt(round.rampart1t.pgd)} R${pooledBench.workers}w ${fmt(round.rampartPool.pgd)} torch1t ${fmt(round.torch1t?.pgd)} torch${round.torchThreads ?? 'N'}t ${fmt(round.torchAll?.pgd)} ratio ${ratioText(round.rampartPool.pgd, round.torchAll?.pgd)}; ` +
        `(b) R1t ${fmt(round.rampart1t.at)} R${pooledBench.workers}w ${fmt(round.rampartPool.at)} torch1t ${fmt(round.torch1t?.at)} torch${round.torchThreads ?? 'N'}t ${fmt(round.torchAll?.at)} ratio ${ratioText(round.rampartPool.at, round.torchAll?.at)}`,
    );
  }
  current.dispose();
  w.dispose();
  await pooledBench.close();
  if (torchReport === undefined) console.log(`PyTorch: not measured: ${torchUnavailable ?? 'unknown'}. Rampart alone below.`);
  else
    console.log(
      `PyTorch ${torchReport.torch} (Python ${torchReport.python}, ${torchReport.executable}), CPU, ${torchReport.cpuCount} threads max`,
    );

  const med = (f: (r: Round) => number | undefined) => {
    const values = rounds.map(f).filter((v): v is number => v !== undefined);
    return values.length === rounds.length ? median(values) : undefined;
  };
  const rows = (['pgd', 'at'] as const).map((k) => ({
    what: k === 'pgd' ? '(a) PGD step (fwd + bwd to input)' : '(b) PGD-AT step (10 steps + Adam)',
    ours: med((r) => r.rampart1t[k]) as number,
    pool: med((r) => r.rampartPool[k]) as number,
    one: med((r) => r.torch1t?.[k]),
    all: med((r) => r.torchAll?.[k]),
    oneRatio: med((r) => (r.torch1t === undefined ? undefined : r.rampart1t[k] / r.torch1t[k])),
    allRatio: med((r) => (r.torchAll === undefined ? undefined : r.rampartPool[k] / r.torchAll[k])),
  }));
  const threadsLabel = String(torchReport?.results.all.threads ?? 'N');
  const poolLabel = `R ${pooledBench.workers}w`;
  console.log(`\n  medians over ${ROUNDS} rounds; ratios are medians of the per-round ratios`);
  console.log(
    `  ${'examples/s'.padEnd(36)} ${'R 1t'.padStart(7)} ${poolLabel.padStart(7)} ${'torch 1t'.padStart(9)} ${`torch ${threadsLabel}t`.padStart(9)}  ${'R1t/torch1t'.padStart(11)} ${`R${pooledBench.workers}w/torch${threadsLabel}t`.padStart(13)}`,
  );
  for (const r of rows) {
    console.log(
      `  ${r.what.padEnd(36)} ${fmt(r.ours).padStart(7)} ${fmt(r.pool).padStart(7)} ${fmt(r.one).padStart(9)} ${fmt(r.all).padStart(9)}  ${fmt(r.oneRatio, 2).padStart(11)} ${fmt(r.allRatio, 2).padStart(13)}`,
    );
  }
  const [a, b] = rows as [(typeof rows)[number], (typeof rows)[number]];

  const result = {
    date: new Date().toISOString(),
    command: ['npm run bench:engine', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' '),
    machine: { cpu, cores: os.cpus().length, platform: `${os.platform()} ${os.release()}`, node: process.version },
    settings: { batch: BATCH, reps: REPS, atReps: AT_REPS, rounds: ROUNDS, workers: pooledBench.workers, ...PGD_SETTINGS },
    rampart: {
      tfjs: info.tfjsVersion,
      backend: info.backend,
      simd,
      threads,
      kernelOverrides: info.kernelOverrides,
      warmupAccuracy: pooledBench.warmupAccuracy,
    },
    pytorch: torchReport ?? { unavailable: torchUnavailable },
    examplesPerSecond: {
      pgdStep: { rampart1Thread: a.ours, rampartPool: a.pool, torch1Thread: a.one, torchAllThreads: a.all },
      pgdAtStep: { rampart1Thread: b.ours, rampartPool: b.pool, torch1Thread: b.one, torchAllThreads: b.all },
    },
    ratios:
      torchReport === undefined
        ? undefined
        : {
            pgdStepVsTorch1Thread: a.oneRatio,
            pgdAtStepVsTorch1Thread: b.oneRatio,
            poolPgdStepVsTorchAllThreads: a.allRatio,
            poolPgdAtStepVsTorchAllThreads: b.allRatio,
          },
    rounds,
  };
  const dir = path.join(HERE, 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'engine.json');
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`  Written: ${path.relative(process.cwd(), file)}`);
}

await main();

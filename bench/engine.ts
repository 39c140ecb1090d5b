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
 * The real-model workloads (ResNet-20, MobileNet-style, the imported ONNX CIFAR net; 3x32x32,
 * batch --model-batch) follow, as bench/engine-models.ts describes; --workloads picks which
 * run (default all: mnist,resnet20,mobilenet-lite,onnx-cifar-resnet). --quick is a short run
 * (batch 32 / model batch 8, 2 / 1 repetitions, 1 round). PyTorch always runs without
 * OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE in its environment (printed), on all cores.
 *
 * Results: a table on stdout and bench/results/engine.json.
 *
 * Run: npm run bench:engine -- [--quick] [--workloads mnist,resnet20,...] [--batch 128] [--model-batch 32] [--reps 7]
 *      [--at-reps 3] [--rounds 3] [--workers N] [--python PATH] [--no-torch]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import * as tf from '@tensorflow/tfjs';

import { initEngine } from '../src/engine/backend.js';
import { createCnnWorkload, PGD_SETTINGS } from './cnn-steps.js';
import { createPooledBench } from './engine-mnist-pool.js';
import {
  benchModelWorkloads,
  MODEL_WORKLOADS,
  type ModelRow,
  type ModelWorkloadId,
  printModelRows,
  torchEnvironment,
} from './engine-models.js';
import { median, option, positiveFlag, reportErrorsPlainly } from './support.js';

reportErrorsPlainly();

const HERE = path.dirname(fileURLToPath(import.meta.url));

const QUICK = process.argv.includes('--quick');
const BATCH = positiveFlag('batch', QUICK ? 32 : 128);
const MODEL_BATCH = positiveFlag('model-batch', QUICK ? 8 : 32);
const REPS = positiveFlag('reps', QUICK ? 2 : 7);
const AT_REPS = positiveFlag('at-reps', QUICK ? 1 : 3);
const ROUNDS = positiveFlag('rounds', QUICK ? 1 : 3);
const WORKLOADS = (option('workloads') ?? ['mnist', ...MODEL_WORKLOADS].join(',')).split(',');
const unknownWorkload = WORKLOADS.find((w) => w !== 'mnist' && !(MODEL_WORKLOADS as readonly string[]).includes(w));
if (unknownWorkload !== undefined) throw new Error(`Unknown workload '${unknownWorkload}'; use mnist, ${MODEL_WORKLOADS.join(', ')}.`);
/** Wall time the one-thread workload runs before the first round, for V8's wasm tier-up. */
const WARMUP_MS = 4000;
const NO_TORCH = process.argv.includes('--no-torch');
const WORKERS = positiveFlag('workers', os.availableParallelism());

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
    env: torchEnvironment().env,
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

async function benchMnist(
  info: Awaited<ReturnType<typeof initEngine>>,
  simd: unknown,
  threads: unknown,
  cpu: string,
): Promise<Record<string, unknown>> {
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
  const pooledBench = await createPooledBench({ batch: BATCH, reps: REPS, atReps: AT_REPS, workers: WORKERS });
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

  return {
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

  const torchEnv = torchEnvironment();
  console.log(
    `PyTorch child environment: ${torchEnv.unset.length > 0 ? `unset ${torchEnv.unset.join(', ')}` : 'neither OPENBLAS_CORETYPE nor OPENBLAS_L2_SIZE was set'}`,
  );
  console.log(
    `Load average: ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const mnist = WORKLOADS.includes('mnist') ? await benchMnist(info, simd, threads, cpu) : {};
  const ids = MODEL_WORKLOADS.filter((id) => WORKLOADS.includes(id)) as ModelWorkloadId[];
  let models: ModelRow[] = [];
  if (ids.length > 0) {
    const python = NO_TORCH ? undefined : pythonExecutable();
    console.log(`\nReal-model workloads (model batch ${MODEL_BATCH}, ${ROUNDS} rounds): ${ids.join(', ')}`);
    models = await benchModelWorkloads({
      ids,
      batch: MODEL_BATCH,
      reps: Math.min(REPS, 3),
      atReps: 1,
      rounds: ROUNDS,
      workers: WORKERS,
      python,
    });
    printModelRows(models, WORKERS);
  }
  const result = {
    ...mnist,
    date: new Date().toISOString(),
    quick: QUICK,
    loadAverageAtEnd: os.loadavg(),
    openblasUnsetForTorch: torchEnv.unset,
    models,
  };
  const dir = path.join(HERE, 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'engine.json');
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`  Written: ${path.relative(process.cwd(), file)}`);
}

await main();

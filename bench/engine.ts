/**
 * Engine benchmark: Rampart (TF.js wasm with Rampart's kernels, as `initEngine` starts
 * it) against the same CNN in PyTorch on the CPU, in examples/s, for
 *   (a) one L∞ PGD step: forward + backward to the input + ascent step;
 *   (b) one PGD-AT training step: random start, 10 attack steps, one Adam update.
 * Model conv3x3-32 relu, pool2, conv3x3-64 relu, pool2, flatten, dense128 relu, dense10
 * (`buildModel('cnn', …)`), 28x28x1 inputs, batch 128. The workloads are in
 * bench/cnn-steps.ts and bench/torch_engine.py.
 *
 * Rampart runs first (warm-up, then the median of --reps timed repetitions; --at-reps for
 * PGD-AT), then bench/torch_engine.py as a child process, so the two never share the CPU.
 * The wasm backend is single-threaded in Node, so PyTorch is reported at 1 thread (the
 * like-for-like ratio) and at all cores. Without an importable torch (Debian's
 * python3-torch at /usr/bin/python3 is preferred, since a pyenv python3 on PATH does not
 * see dist-packages) the benchmark says so and reports Rampart alone.
 *
 * Results: a table on stdout and bench/results/engine.json.
 *
 * Run: npm run bench:engine -- [--batch 128] [--reps 7] [--at-reps 3] [--python PATH] [--no-torch]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import * as tf from '@tensorflow/tfjs';

import { initEngine } from '../src/engine/backend.js';
import { createCnnWorkload, PGD_SETTINGS } from './cnn-steps.js';
import { median, option, positiveFlag } from './support.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));

const BATCH = positiveFlag('batch', 128);
const REPS = positiveFlag('reps', 7);
const AT_REPS = positiveFlag('at-reps', 3);
const NO_TORCH = process.argv.includes('--no-torch');

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
  if (typeof parsed === 'object' && parsed !== null && 'error' in parsed) return { ok: false, reason: String((parsed as { error: unknown }).error) };
  return { ok: true, report: parsed as TorchReport };
}

async function main(): Promise<void> {
  const info = await initEngine({ backend: 'wasm' });
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  console.log(`Rampart: TF.js ${info.tfjsVersion}, backend ${info.backend} (SIMD ${simd}, threads ${threads}), Node ${process.version}`);
  console.log(`Kernels: ${info.kernelOverrides.join(', ')}`);
  console.log(`Machine: ${cpu}, ${os.cpus().length} cores; batch ${BATCH}; median of ${REPS} (PGD step) / ${AT_REPS} (PGD-AT step) repetitions`);
  console.log(`PGD: L∞ eps ${PGD_SETTINGS.epsilon}, step ${PGD_SETTINGS.stepSize}, ${PGD_SETTINGS.attackSteps} attack steps per PGD-AT step, Adam lr ${PGD_SETTINGS.learningRate}\n`);

  const w = createCnnWorkload(BATCH);
  let current = tf.clone(w.x);
  const pgdMs = medianMs(
    () => {
      const next = w.pgdStep(current);
      next.dataSync();
      current.dispose();
      current = next;
    },
    3,
    REPS,
  );
  current.dispose();
  const atMs = medianMs(() => w.pgdAtStep(), 1, AT_REPS);
  w.dispose();
  const rampart = { pgdStep: throughput(pgdMs), pgdAtStep: throughput(atMs) };

  console.log('Running bench/torch_engine.py …');
  const torch = runTorch();
  if (!torch.ok) console.log(`PyTorch: not measured: ${torch.reason}. Rampart alone below.`);
  else console.log(`PyTorch ${torch.report.torch} (Python ${torch.report.python}, ${torch.report.executable}), CPU, ${torch.report.cpuCount} threads max`);

  const fmt = (v: number | undefined, digits = 0) => (v === undefined ? 'n/a' : v.toFixed(digits));
  const ratio = (a: number, b: number | undefined) => (b === undefined ? undefined : a / b);
  const t1 = torch.ok ? torch.report.results['1'] : undefined;
  const tn = torch.ok ? torch.report.results.all : undefined;
  const rows = [
    { what: '(a) PGD step (fwd + bwd to input)', ours: rampart.pgdStep.examplesPerSecond, one: t1?.pgdStepExamplesPerSecond, all: tn?.pgdStepExamplesPerSecond },
    { what: '(b) PGD-AT step (10 steps + Adam)', ours: rampart.pgdAtStep.examplesPerSecond, one: t1?.pgdAtStepExamplesPerSecond, all: tn?.pgdAtStepExamplesPerSecond },
  ];
  const allLabel = `torch ${tn?.threads ?? 'N'}t`;
  console.log(
    `\n  ${'examples/s'.padEnd(36)} ${'Rampart'.padStart(8)} ${'torch 1t'.padStart(9)} ${allLabel.padStart(9)}  ${'R/torch1t'.padStart(9)} ${`R/${allLabel.replace('torch ', 'torch')}`.padStart(10)}`,
  );
  for (const r of rows) {
    console.log(
      `  ${r.what.padEnd(36)} ${fmt(r.ours).padStart(8)} ${fmt(r.one).padStart(9)} ${fmt(r.all).padStart(9)}  ${fmt(ratio(r.ours, r.one), 2).padStart(9)} ${fmt(ratio(r.ours, r.all), 2).padStart(10)}`,
    );
  }
  console.log(`\n  Rampart ms per step: PGD ${pgdMs.toFixed(1)}, PGD-AT ${atMs.toFixed(1)}`);

  const result = {
    date: new Date().toISOString(),
    command: ['npm run bench:engine', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' '),
    machine: { cpu, cores: os.cpus().length, platform: `${os.platform()} ${os.release()}`, node: process.version },
    settings: { batch: BATCH, reps: REPS, atReps: AT_REPS, ...PGD_SETTINGS },
    rampart: { tfjs: info.tfjsVersion, backend: info.backend, simd, threads, kernelOverrides: info.kernelOverrides, ...rampart },
    pytorch: torch.ok ? torch.report : { unavailable: torch.reason },
    ratios: torch.ok
      ? {
          pgdStepVsTorch1Thread: ratio(rampart.pgdStep.examplesPerSecond, t1?.pgdStepExamplesPerSecond),
          pgdStepVsTorchAllThreads: ratio(rampart.pgdStep.examplesPerSecond, tn?.pgdStepExamplesPerSecond),
          pgdAtStepVsTorch1Thread: ratio(rampart.pgdAtStep.examplesPerSecond, t1?.pgdAtStepExamplesPerSecond),
          pgdAtStepVsTorchAllThreads: ratio(rampart.pgdAtStep.examplesPerSecond, tn?.pgdAtStepExamplesPerSecond),
        }
      : undefined,
  };
  const dir = path.join(HERE, 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'engine.json');
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`  Written: ${path.relative(process.cwd(), file)}`);
}

await main();

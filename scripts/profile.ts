/**
 * Where the time goes in one PGD attack step (forward + backward to the input) and in one
 * training step (forward + backward + Adam update) of `buildModel('cnn', …)`, on the
 * engine `initEngine` starts (wasm with Rampart's kernels unless told otherwise). Prints
 * the top kernels by time, in ms and as a share of all kernel time in the step, so the
 * next bottleneck is visible.
 *
 * Each step runs a few times to warm up (XNNPACK operators, heap growth), then is
 * profiled `--reps` times with `tf.profile`; per kernel the median over repetitions is
 * shown, and the step's wall time (median, outside the profiler) for context.
 *
 * --workload resnet20 | mobilenet-lite profiles the same two steps on bench:engine's
 * CIFAR-shaped nets (src/models/cnn-zoo.ts, 3x32x32; batch norm in inference mode for the
 * attack step and in training mode for the training step).
 *
 * Run: npm run profile -- [--workload cnn|resnet20|mobilenet-lite] [--batch 128] [--reps 5] [--top 10] [--backend wasm]
 *      [--stock BatchMatMul,_FusedMatMul]  (put those stock wasm kernels back, to compare)
 */
import * as tf from '@tensorflow/tfjs';

import { createCnnWorkload, type CnnWorkload } from '../bench/cnn-steps.js';
import { createModelWorkload } from '../bench/model-steps.js';
import { buildCnnZooModel } from '../src/models/cnn-zoo.js';
import { initEngine } from '../src/engine/backend.js';
import { kernelTimes, median, option, positiveFlag } from '../bench/support.js';

const BATCH = positiveFlag('batch', 128);
const REPS = positiveFlag('reps', 5);
const TOP = positiveFlag('top', 10);
const BACKEND = option('backend') ?? 'wasm';
const STOCK = (option('stock') ?? '').split(',').filter((s) => s.length > 0);
const WORKLOAD = option('workload') ?? 'cnn';

interface KernelRow {
  name: string;
  ms: number;
  calls: number;
}

async function report(label: string, f: () => void): Promise<void> {
  for (let i = 0; i < 2; i++) f();
  const walls: number[] = [];
  for (let i = 0; i < REPS; i++) {
    const t0 = performance.now();
    f();
    walls.push(performance.now() - t0);
  }
  const runs: Awaited<ReturnType<typeof kernelTimes>>[] = [];
  for (let i = 0; i < REPS; i++) runs.push(await kernelTimes(f));
  const names = new Set(runs.flatMap((r) => [...r.byName.keys()]));
  const rows: KernelRow[] = [...names].map((name) => ({
    name,
    ms: median(runs.map((r) => r.byName.get(name)?.ms ?? 0)),
    calls: runs[0]!.byName.get(name)?.calls ?? 0,
  }));
  rows.sort((a, b) => b.ms - a.ms);
  const total = median(runs.map((r) => r.total));
  const wall = median(walls);
  console.log(
    `\n${label}: ${wall.toFixed(1)} ms wall (${((BATCH * 1000) / wall).toFixed(0)} examples/s), ${total.toFixed(1)} ms in kernels; top ${TOP}`,
  );
  console.log(`  ${'kernel'.padEnd(26)} ${'ms'.padStart(8)} ${'share'.padStart(7)} ${'calls'.padStart(6)}`);
  for (const r of rows.slice(0, TOP)) {
    const share = total > 0 ? (100 * r.ms) / total : 0;
    console.log(
      `  ${r.name.padEnd(26)} ${r.ms.toFixed(1).padStart(8)} ${`${share.toFixed(1)}%`.padStart(7)} ${String(r.calls).padStart(6)}`,
    );
  }
  const rest = rows.slice(TOP).reduce((s, r) => s + r.ms, 0);
  if (rest > 0)
    console.log(
      `  ${`(${rows.length - TOP} others)`.padEnd(26)} ${rest.toFixed(1).padStart(8)} ${`${((100 * rest) / total).toFixed(1)}%`.padStart(7)}`,
    );
}

async function main(): Promise<void> {
  // Captured before `initEngine` registers Rampart's kernels over them.
  if (STOCK.length > 0) await import('@tensorflow/tfjs-backend-wasm');
  const stock = STOCK.map((name) => [name, tf.getKernel(name, 'wasm')] as const);
  const info = await initEngine({ backend: BACKEND });
  for (const [name, config] of stock) {
    if (tf.getKernel(name, 'wasm') !== undefined) tf.unregisterKernel(name, 'wasm');
    if (config !== undefined) tf.registerKernel(config);
  }
  const kernels = (await import('../src/engine/kernels/index.js')).activeWasmGradientKernels();
  console.log(
    `TF.js ${info.tfjsVersion}, backend ${info.backend}, Node ${process.version}; batch ${BATCH}; median of ${REPS} profiled repetitions`,
  );
  console.log(
    `Rampart kernels: ${info.backend === 'wasm' ? kernels.join(', ') || 'none' : 'n/a'}${STOCK.length > 0 ? `; stock: ${STOCK.join(', ')}` : ''}`,
  );

  const zoo = WORKLOAD === 'cnn' ? undefined : buildCnnZooModel(WORKLOAD, { inputShape: [32, 32, 3], numClasses: 10, seed: 1 });
  const w: CnnWorkload = zoo === undefined ? createCnnWorkload(BATCH) : createModelWorkload(zoo, [32, 32, 3], 10, BATCH);
  console.log(`Workload: ${WORKLOAD}`);
  await report('PGD attack step (forward + backward to the input)', () => {
    tf.dispose(w.inputGradient(w.x));
  });
  await report('Training step (forward + backward + Adam update)', () => w.trainStep());
  w.dispose();
  zoo?.dispose();
}

await main();

/**
 * The wasm engine's newer kernel routes against the routes they replaced, in one process,
 * alternating rounds, medians: kernel time (tf.profile) and wall time of one PGD step
 * (forward + backward to the input, batch norm in inference mode) and one training step
 * (forward + backward + Adam, batch norm in training mode) on bench:engine's CIFAR-shaped
 * nets. Under a shared machine's load the absolute times swing, but the per-round ratio of
 * the two routes, measured back to back, is what this reports.
 *
 * "new": everything on. "old": the direct SIMD Conv2D off (stock XNNPACK, also for the
 * stride-1 input gradient), the SIMD col2im of strided input gradients off, the dense SIMD
 * filter gradient off (im2col + matmul), batch norm's training-mode layer call back to
 * tfjs-layers' own ops, the sparse scatter for any shape up to 40% non-zero, tfjs-core's
 * FusedBatchNorm gradient, the stock FusedBatchNorm kernel, the depthwise gradients' JS
 * loops, and the plain (not relaxed) SIMD module.
 *
 * Run: npx tsx bench/engine-routes.ts [--workload resnet20|mobilenet-lite|cnn] [--batch 64] [--rounds 5]
 *      [--only conv|depthwise|relaxed|sparse]
 */
import os from 'node:os';

import * as tf from '@tensorflow/tfjs';

import { installBatchNormGradient, uninstallBatchNormGradient } from '../src/engine/batch-norm-gradient.js';
import { installBatchNormTraining, uninstallBatchNormTraining } from '../src/engine/batch-norm-training.js';
import { initEngine } from '../src/engine/backend.js';
import {
  conv2DBackpropFilterOptions,
  conv2DBackpropInputOptions,
  conv2DOptions,
  createFusedBatchNormKernel,
  depthwiseBackpropOptions,
} from '../src/engine/kernels/index.js';
import { simdKernelOptions, simdKernelsVariant } from '../src/engine/simd/index.js';
import { buildCnnZooModel } from '../src/models/cnn-zoo.js';
import { createCnnWorkload } from './cnn-steps.js';
import { createModelWorkload } from './model-steps.js';
import { median, option, positiveFlag } from './support.js';

const WORKLOAD = option('workload') ?? 'resnet20';
const BATCH = positiveFlag('batch', 64);
const ROUNDS = positiveFlag('rounds', 5);

await import('@tensorflow/tfjs-backend-wasm');
const stockFusedBatchNorm = tf.getKernel(tf.FusedBatchNorm, 'wasm');
await initEngine({ backend: 'wasm' });
const ours = createFusedBatchNormKernel(stockFusedBatchNorm);

// 'conv' / 'depthwise' / 'relaxed' / 'sparse': compare the direct Conv2D / the SIMD depthwise
// gradients / the relaxed-SIMD (FMA) module / the sparse scatter's shape gates against what
// they replaced, alone (everything else new)
const ONLY = option('only');

// The sparse scatter's choice before its shape gates: any shape up to 40% non-zero.
const sparseGates = {
  old: { sparseMaxDensity: 0.4, sparseMinInChannels: 0, sparseMinTaps: 1 },
  new: (({ sparseMaxDensity, sparseMinInChannels, sparseMinTaps }) => ({ sparseMaxDensity, sparseMinInChannels, sparseMinTaps }))(
    conv2DBackpropInputOptions,
  ),
};

function useRoutes(route: 'new' | 'old'): void {
  // A feature is on in the new route, and in the old one when another feature is compared alone.
  const on = (feature: string) => route === 'new' || (ONLY !== undefined && ONLY !== feature);
  simdKernelOptions.relaxed = on('relaxed');
  const gates = on('sparse') ? sparseGates.new : sparseGates.old;
  Object.assign(conv2DBackpropInputOptions, gates);
  Object.assign(conv2DBackpropFilterOptions, gates);
  conv2DOptions.direct = on('conv');
  depthwiseBackpropOptions.simd = on('depthwise');
  conv2DBackpropFilterOptions.dense = on('');
  conv2DBackpropInputOptions.simdCol2im = on('');
  tf.unregisterKernel(tf.FusedBatchNorm, 'wasm');
  tf.registerKernel(on('') ? ours : stockFusedBatchNorm!);
  if (on('')) {
    installBatchNormTraining();
    installBatchNormGradient();
  } else {
    uninstallBatchNormTraining();
    uninstallBatchNormGradient();
  }
}

// 'cnn': the MNIST CNN of bench/cnn-steps.ts (28x28x1), which owns its model.
const model = WORKLOAD === 'cnn' ? undefined : buildCnnZooModel(WORKLOAD, { inputShape: [32, 32, 3], numClasses: 10, seed: 1 });
const w = model === undefined ? createCnnWorkload(BATCH) : createModelWorkload(model, [32, 32, 3], 10, BATCH);
const steps = {
  pgd: () => tf.dispose(w.inputGradient(w.x)),
  train: () => w.trainStep(),
} as const;
const routes = ['old', 'new'] as const;

console.log(
  `${WORKLOAD}, batch ${BATCH}, ${ROUNDS} alternating rounds; SIMD module ${simdKernelsVariant()}; load average ${loadAverage()}`,
);
for (const [name, step] of Object.entries(steps)) {
  const kernel: Record<string, number[]> = { old: [], new: [] };
  const wall: Record<string, number[]> = { old: [], new: [] };
  for (const r of routes) {
    useRoutes(r);
    step();
    step();
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const r of round % 2 === 0 ? routes : [...routes].reverse()) {
      useRoutes(r);
      const t0 = performance.now();
      step();
      wall[r]!.push(performance.now() - t0);
      const info = await tf.profile(step);
      kernel[r]!.push(info.kernels.reduce((s, k) => s + (typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0), 0));
    }
  }
  const ratio = (a: number[], b: number[]) => median(a.map((v, i) => v / b[i]!));
  console.log(
    `${name.padEnd(5)} kernels old ${median(kernel.old!).toFixed(0)} ms, new ${median(kernel.new!).toFixed(0)} ms (old/new ${ratio(kernel.old!, kernel.new!).toFixed(2)}); ` +
      `wall old ${median(wall.old!).toFixed(0)} ms, new ${median(wall.new!).toFixed(0)} ms (old/new ${ratio(wall.old!, wall.new!).toFixed(2)})`,
  );
}
console.log(`load average after: ${loadAverage()}`);
useRoutes('new');
w.dispose();
model?.dispose();

function loadAverage(): string {
  return os
    .loadavg()
    .map((v) => v.toFixed(1))
    .join(' ');
}

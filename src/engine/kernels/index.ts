/**
 * Gradient kernels for the TF.js wasm backend, registered over the stock ones.
 *
 * The stock wasm backend has no Conv2DBackpropFilter (conv layers cannot train on it),
 * slow Conv2DBackpropInput, MaxPoolGrad and AvgPoolGrad, and a matmul (BatchMatMul,
 * _FusedMatMul) that drops to a scalar loop for transposed operands, which every dense
 * layer's backward pass uses. It also copies data where the cpu backend shares it
 * (Identity, same-dtype Cast: the engine clones every tensor saved for a gradient) and
 * transposes the whole input before a Sum over leading axes (a conv bias gradient); those
 * are replaced too. For general CNNs: Tile (which the batch-norm gradient uses, per element
 * on stock wasm), the depthwise convolution gradients (missing on wasm), FusedBatchNorm (a
 * scalar loop on stock wasm) and two new kernels for training-mode batch norm (../batch-norm-training.ts).
 * `registerWasmGradientKernels` swaps in this folder's kernels for backend 'wasm' only and
 * remembers what it replaced, so `restoreStockWasmKernels` can put the stock kernels back
 * (the benchmark compares both in one process). Each replacement carries the stock kernel's
 * `setupFunc`, so registering before the backend initialises still sets up the stock
 * fallbacks.
 */
import * as tf from '@tensorflow/tfjs';
// Imported for its side effect: the stock wasm kernels must already be registered when
// they are captured and replaced here; a later first import of the package would
// otherwise register them over ours.
import '@tensorflow/tfjs-backend-wasm';

import { createAvgPoolGradKernel } from './avg-pool-grad.js';
import { createBatchMatMulKernel, createFusedMatMulKernel } from './batch-mat-mul.js';
import {
  BATCH_NORM_GRAD,
  BATCH_NORM_MOMENTS,
  createBatchNormGradKernel,
  createBatchNormMomentsKernel,
  createFusedBatchNormKernel,
} from './batch-norm.js';
import { createConv2DKernel } from './conv2d.js';
import { createConv2DBackpropFilterKernel } from './conv2d-backprop-filter.js';
import { createConv2DBackpropInputKernel } from './conv2d-backprop-input.js';
import { createDepthwiseBackpropFilterKernel, createDepthwiseBackpropInputKernel } from './depthwise-backprop.js';
import { createCastKernel, createIdentityKernel } from './identity.js';
import { createMaxPoolGradKernel } from './max-pool-grad.js';
import { createSumKernel } from './sum.js';
import { createTileKernel } from './tile.js';

export { avgPoolGradWasm, createAvgPoolGradKernel } from './avg-pool-grad.js';
export { batchMatMulOptions, batchMatMulWasm, createBatchMatMulKernel, createFusedMatMulKernel, fusedMatMulWasm } from './batch-mat-mul.js';
export {
  BATCH_NORM_GRAD,
  BATCH_NORM_MOMENTS,
  batchNormChannels,
  batchNormGradWasm,
  batchNormMomentsWasm,
  createFusedBatchNormKernel,
  fusedBatchNormWasm,
} from './batch-norm.js';
export { conv2DOptions, conv2DWasm, createConv2DKernel } from './conv2d.js';
export { conv2DBackpropFilterOptions, conv2DBackpropFilterWasm, createConv2DBackpropFilterKernel } from './conv2d-backprop-filter.js';
export { conv2DBackpropInputOptions, conv2DBackpropInputWasm, createConv2DBackpropInputKernel } from './conv2d-backprop-input.js';
export {
  createDepthwiseBackpropFilterKernel,
  createDepthwiseBackpropInputKernel,
  depthwiseBackpropFilterWasm,
  depthwiseBackpropInputWasm,
  depthwiseBackpropOptions,
} from './depthwise-backprop.js';
export { castWasm, createCastKernel, createIdentityKernel, identityWasm } from './identity.js';
export { createMaxPoolGradKernel, maxPoolGradWasm } from './max-pool-grad.js';
export { createSumKernel, sumWasm } from './sum.js';
export { createTileKernel, tileInto, tileWasm } from './tile.js';

type KernelFactory = (stock?: tf.KernelConfig) => tf.KernelConfig;

const FACTORIES: ReadonlyArray<readonly [string, KernelFactory]> = [
  [tf.Conv2D, createConv2DKernel],
  [tf.Conv2DBackpropFilter, createConv2DBackpropFilterKernel],
  [tf.Conv2DBackpropInput, createConv2DBackpropInputKernel],
  [tf.MaxPoolGrad, createMaxPoolGradKernel],
  [tf.AvgPoolGrad, createAvgPoolGradKernel],
  [tf.BatchMatMul, createBatchMatMulKernel],
  [tf._FusedMatMul, createFusedMatMulKernel],
  [tf.Sum, createSumKernel],
  [tf.Identity, createIdentityKernel],
  [tf.Cast, createCastKernel],
  [tf.Tile, createTileKernel],
  [tf.DepthwiseConv2dNativeBackpropInput, createDepthwiseBackpropInputKernel],
  [tf.DepthwiseConv2dNativeBackpropFilter, createDepthwiseBackpropFilterKernel],
  [tf.FusedBatchNorm, createFusedBatchNormKernel],
  [BATCH_NORM_MOMENTS, createBatchNormMomentsKernel],
  [BATCH_NORM_GRAD, createBatchNormGradKernel],
];

/** Names of the wasm kernels that `registerWasmGradientKernels` registers. */
export const WASM_GRADIENT_KERNEL_NAMES: readonly string[] = Object.freeze(FACTORIES.map(([name]) => name));

interface Override {
  ours: tf.KernelConfig;
  /** What was registered before ours; `undefined` when the backend had no such kernel. */
  stock: tf.KernelConfig | undefined;
}

const overrides = new Map<string, Override>();

/**
 * Registers the fast gradient kernels for backend 'wasm' over the stock ones. Idempotent:
 * kernels that are already ours are left alone.
 *
 * @example
 * import * as tf from '@tensorflow/tfjs';
 * registerWasmGradientKernels();
 * await tf.setBackend('wasm');
 */
export function registerWasmGradientKernels(): void {
  for (const [name, create] of FACTORIES) {
    const current = tf.getKernel(name, 'wasm');
    const mine = overrides.get(name);
    if (mine !== undefined && current?.kernelFunc === mine.ours.kernelFunc) continue;
    const ours = create(current);
    if (current !== undefined) tf.unregisterKernel(name, 'wasm');
    tf.registerKernel(ours);
    overrides.set(name, { ours, stock: current });
  }
}

/**
 * Puts back the kernels that `registerWasmGradientKernels` replaced (and unregisters the
 * ones the backend never had, such as Conv2DBackpropFilter). A kernel that someone else
 * has since registered over ours is left as it is.
 *
 * @example
 * restoreStockWasmKernels(); // tf.grad on wasm now runs the stock kernels again
 */
export function restoreStockWasmKernels(): void {
  for (const [name, { ours, stock }] of overrides) {
    if (tf.getKernel(name, 'wasm')?.kernelFunc !== ours.kernelFunc) continue;
    tf.unregisterKernel(name, 'wasm');
    if (stock !== undefined) tf.registerKernel(stock);
  }
  overrides.clear();
}

/** Names of the kernels currently replaced by this module (empty after a restore). */
export function activeWasmGradientKernels(): string[] {
  return [...overrides.entries()]
    .filter(([name, { ours }]) => tf.getKernel(name, 'wasm')?.kernelFunc === ours.kernelFunc)
    .map(([name]) => name);
}

/**
 * Batch normalisation kernels for the TF.js wasm backend, on the SIMD route
 * (../simd/batch-norm.wat), channels last with a channel count divisible by 4:
 *
 * - `FusedBatchNorm` over the stock one, which is a scalar loop (~10% of a ResNet-20 PGD
 *   step): one pass, y = (x - mean) * (scale / sqrt(variance + epsilon)) + offset.
 * - `RampartBatchNormMoments` (new): per-channel mean and biased variance in two passes
 *   summed in f64, instead of Mean, Sub, Square, Mean.
 * - `RampartBatchNormGrad` (new): the whole training-mode gradient (through the batch
 *   statistics) in two passes, instead of the ~25 elementwise passes and reductions that
 *   the FusedBatchNorm gradient and the moments' gradients take op by op.
 *
 * The two new kernels are what ../batch-norm-training.ts runs for a batch-norm layer in
 * training mode; other shapes and dtypes fall back to the stock kernel or to the ops.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

import { EngineError } from '../../core/errors.js';
import { simdKernels } from '../simd/index.js';
import { type KernelArgs, heap, input } from './kernel-io.js';

/** Kernel names of the training-mode statistics and gradient. */
export const BATCH_NORM_MOMENTS = 'RampartBatchNormMoments';
export const BATCH_NORM_GRAD = 'RampartBatchNormGrad';

const size = (t: tf.TensorInfo) => t.shape.reduce((p, d) => p * d, 1);

/** The channel count when `x` (float32, channels last) and every per-channel tensor suit the SIMD route, else undefined. */
export function batchNormChannels(x: tf.TensorInfo, perChannel: ReadonlyArray<tf.TensorInfo | undefined>): number | undefined {
  const channels = x.shape[x.shape.length - 1] ?? 0;
  if (x.dtype !== 'float32' || x.shape.length < 2 || channels === 0 || channels % 4 !== 0) return undefined;
  for (const t of perChannel) {
    if (t === undefined) continue;
    if (t.dtype !== 'float32' || size(t) !== channels || t.shape[t.shape.length - 1] !== channels) return undefined;
  }
  return channels;
}

/** A fresh [channels] float32 tensor on the backend holding `values`. */
function perChannelTensor(backend: BackendWasm, values: Float32Array): tf.TensorInfo {
  const t = backend.makeOutput([values.length], 'float32');
  heap(backend, t).set(values);
  return t;
}

/**
 * Inference-mode batch norm on the SIMD route, or `undefined` when the shapes or the
 * engine do not suit it (the caller runs the stock kernel).
 */
export function fusedBatchNormWasm(args: KernelArgs): tf.TensorInfo | undefined {
  const backend = args.backend as BackendWasm;
  const kernel = tf.FusedBatchNorm;
  const x = input(args.inputs, 'x', kernel);
  const mean = input(args.inputs, 'mean', kernel);
  const variance = input(args.inputs, 'variance', kernel);
  const { scale, offset } = args.inputs;
  const { varianceEpsilon } = args.attrs as unknown as tf.FusedBatchNormAttrs;
  const channels = batchNormChannels(x, [mean, variance, scale, offset]);
  const simd = simdKernels(backend);
  if (channels === undefined || simd === undefined) return undefined;
  const varianceValues = heap(backend, variance);
  const scaleValues = scale === undefined ? undefined : heap(backend, scale);
  const factor = new Float32Array(channels);
  for (let c = 0; c < channels; c++) factor[c] = (scaleValues?.[c] ?? 1) / Math.sqrt(varianceValues[c]! + varianceEpsilon);
  const factorT = perChannelTensor(backend, factor);
  const offsetT = offset ?? perChannelTensor(backend, new Float32Array(channels));
  const y = backend.makeOutput([...x.shape], 'float32');
  simd.batchNormAffine(x, y, channels, mean, factorT, offsetT);
  backend.disposeData(factorT.dataId);
  if (offset === undefined) backend.disposeData(offsetT.dataId);
  return y;
}

function requireSimd(backend: BackendWasm, x: tf.TensorInfo, perChannel: tf.TensorInfo[], kernel: string) {
  const channels = batchNormChannels(x, perChannel);
  const simd = simdKernels(backend);
  if (channels === undefined || simd === undefined) {
    throw new EngineError(
      'E_KERNEL_UNSUPPORTED',
      `${kernel} needs wasm SIMD and float32 channels-last input with a channel count divisible by 4; got [${x.shape}] ${x.dtype}. ` +
        'Use the batch-norm ops instead (batchNormTrainingSupported says when this kernel applies).',
      { details: { kernel, shape: x.shape, dtype: x.dtype } },
    );
  }
  return { channels, simd };
}

/**
 * Per-channel mean and biased variance of x over every axis but the last.
 *
 * @throws EngineError `E_KERNEL_UNSUPPORTED` when the input does not suit the SIMD route.
 */
export function batchNormMomentsWasm(args: KernelArgs): tf.TensorInfo[] {
  const backend = args.backend as BackendWasm;
  const x = input(args.inputs, 'x', BATCH_NORM_MOMENTS);
  const { channels, simd } = requireSimd(backend, x, [], BATCH_NORM_MOMENTS);
  const mean = backend.makeOutput([channels], 'float32');
  const variance = backend.makeOutput([channels], 'float32');
  simd.channelMoments(x, channels, mean, variance);
  return [mean, variance];
}

/**
 * Training-mode batch norm gradient: [dx, dgamma, dbeta] from x, dy, the batch mean and
 * variance, and gamma (attr `varianceEpsilon`).
 *
 * @throws EngineError `E_KERNEL_UNSUPPORTED` when the inputs do not suit the SIMD route.
 */
export function batchNormGradWasm(args: KernelArgs): tf.TensorInfo[] {
  const backend = args.backend as BackendWasm;
  const kernel = BATCH_NORM_GRAD;
  const x = input(args.inputs, 'x', kernel);
  const dy = input(args.inputs, 'dy', kernel);
  const mean = input(args.inputs, 'mean', kernel);
  const variance = input(args.inputs, 'variance', kernel);
  const gamma = input(args.inputs, 'gamma', kernel);
  const { varianceEpsilon } = args.attrs as { varianceEpsilon: number };
  const { channels, simd } = requireSimd(backend, x, [mean, variance, gamma], kernel);
  if (dy.dtype !== 'float32' || size(dy) !== size(x)) {
    throw new EngineError('E_KERNEL_SHAPE', `${kernel}: dy has shape [${dy.shape}] but x is [${x.shape}].`, {
      details: { kernel, dyShape: dy.shape, xShape: x.shape },
    });
  }
  const rstd = new Float32Array(channels);
  const varianceValues = heap(backend, variance);
  for (let c = 0; c < channels; c++) rstd[c] = 1 / Math.sqrt(varianceValues[c]! + varianceEpsilon);
  const rstdT = perChannelTensor(backend, rstd);
  const dx = backend.makeOutput([...x.shape], 'float32');
  const dgamma = backend.makeOutput([channels], 'float32');
  const dbeta = backend.makeOutput([channels], 'float32');
  simd.batchNormBackward(x, dy, dx, channels, { mean, rstd: rstdT, gamma }, dgamma, dbeta);
  backend.disposeData(rstdT.dataId);
  return [dx, dgamma, dbeta];
}

/**
 * FusedBatchNorm over the stock kernel, which still runs for the shapes the SIMD route
 * does not take; its `setupFunc` is carried over.
 *
 * @throws EngineError `E_KERNEL_UNSUPPORTED` for such a shape when there is no stock kernel.
 */
export function createFusedBatchNormKernel(stock?: tf.KernelConfig): tf.KernelConfig {
  const kernelFunc: tf.KernelFunc = (args) => {
    const y = fusedBatchNormWasm(args);
    if (y !== undefined) return y;
    if (stock !== undefined) return stock.kernelFunc(args);
    throw new EngineError('E_KERNEL_UNSUPPORTED', `${tf.FusedBatchNorm} on the wasm backend needs the stock kernel for this input.`, {
      details: { kernel: tf.FusedBatchNorm },
    });
  };
  const config: tf.KernelConfig = { kernelName: tf.FusedBatchNorm, backendName: 'wasm', kernelFunc };
  if (stock?.setupFunc !== undefined) config.setupFunc = stock.setupFunc;
  return config;
}

/** The moments kernel's config (a new kernel: there is no stock one). */
export function createBatchNormMomentsKernel(): tf.KernelConfig {
  return { kernelName: BATCH_NORM_MOMENTS, backendName: 'wasm', kernelFunc: batchNormMomentsWasm as unknown as tf.KernelFunc };
}

/** The training-mode gradient kernel's config (a new kernel: there is no stock one). */
export function createBatchNormGradKernel(): tf.KernelConfig {
  return { kernelName: BATCH_NORM_GRAD, backendName: 'wasm', kernelFunc: batchNormGradWasm as unknown as tf.KernelFunc };
}

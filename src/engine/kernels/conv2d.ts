/**
 * Conv2D for the TF.js wasm backend on the SIMD route (../simd/conv-dense.wat): NHWC float32,
 * no dilation, output width divisible by 4 and output channels by 8 (every conv of the
 * CIFAR-shaped nets). Blocks of 4 output cells x 8 output channels accumulate in
 * registers over the window; measured on ResNet-20 it is faster than the stock XNNPACK
 * convolution at these sizes (bench/engine-routes.ts). A padded input is copied into a
 * zero-bordered buffer first, so the inner loop needs no bounds checks.
 *
 * The stride-1 input gradient (./conv2d-backprop-input.ts) is a convolution too and goes
 * through this kernel when its shapes suit it. Everything else (NCHW, dilations, other
 * shapes) goes to the stock kernel.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

import { EngineError } from '../../core/errors.js';
import { simdKernels } from '../simd/index.js';
import { type KernelArgs, channelsLastConvInfo, convGeometry, heap, input } from './kernel-io.js';

/** Route switch, for tests and benchmarks: false leaves every Conv2D to the stock kernel. */
export const conv2DOptions = { direct: true };

/**
 * A convolution on the SIMD route, or `undefined` when it does not apply (the caller runs
 * the stock kernel).
 *
 * @example
 * const y = conv2DWasm({ inputs: { x, filter }, backend, attrs }) ?? stock.kernelFunc(args);
 */
export function conv2DWasm(args: KernelArgs): tf.TensorInfo | undefined {
  const backend = args.backend as BackendWasm;
  const x = input(args.inputs, 'x', tf.Conv2D);
  const filter = input(args.inputs, 'filter', tf.Conv2D);
  const { strides, pad, dataFormat, dilations, dimRoundingMode } = args.attrs as unknown as tf.Conv2DAttrs;
  if (!conv2DOptions.direct || (dataFormat ?? 'NHWC') !== 'NHWC' || x.dtype !== 'float32' || filter.dtype !== 'float32') return undefined;
  if (x.shape.length !== 4 || filter.shape.length !== 4) return undefined;
  const dil = typeof dilations === 'number' ? [dilations, dilations] : (dilations ?? [1, 1]);
  if (dil[0] !== 1 || dil[1] !== 1) return undefined;
  const simd = simdKernels(backend);
  if (simd === undefined) return undefined;
  const info = channelsLastConvInfo(x.shape, filter.shape, strides, pad, dimRoundingMode);
  const g = convGeometry(info);
  if (g.outWidth % 4 !== 0 || g.outChannels % 8 !== 0 || g.batchSize * g.outHeight * g.outWidth * g.inChannels === 0) return undefined;
  const { top, bottom, left, right } = info.padInfo;
  if (Math.min(top, bottom, left, right) < 0) return undefined;
  // Rows and columns of the padded input that the windows read.
  const height = Math.max((g.outHeight - 1) * g.strideHeight + g.filterHeight, 1);
  const width = Math.max((g.outWidth - 1) * g.strideWidth + g.filterWidth, 1);
  const inPlace = top === 0 && left === 0 && height <= g.inHeight && width <= g.inWidth;
  const y = backend.makeOutput([g.batchSize, g.outHeight, g.outWidth, g.outChannels], 'float32');
  if (inPlace) {
    simd.convForwardDense(x, filter, y, { ...g, padTop: 0, padLeft: 0 });
    return y;
  }
  const xp = backend.makeOutput([g.batchSize, height, width, g.inChannels], 'float32');
  copyPadded(heap(backend, x), heap(backend, xp), g, height, width);
  simd.convForwardDense(xp, filter, y, { ...g, inHeight: height, inWidth: width, padTop: 0, padLeft: 0 });
  backend.disposeData(xp.dataId);
  return y;
}

/** x into a zeroed [batch, height, width, Cin] buffer at offset (padTop, padLeft), cropped to it. */
function copyPadded(xv: Float32Array, pv: Float32Array, g: ReturnType<typeof convGeometry>, height: number, width: number): void {
  pv.fill(0);
  const c = g.inChannels;
  const cols = Math.min(g.inWidth, width - g.padLeft);
  if (cols <= 0) return;
  for (let b = 0; b < g.batchSize; b++) {
    for (let ih = 0; ih < g.inHeight; ih++) {
      const ph = ih + g.padTop;
      if (ph >= height) break;
      const src = (b * g.inHeight + ih) * g.inWidth * c;
      pv.set(xv.subarray(src, src + cols * c), ((b * height + ph) * width + g.padLeft) * c);
    }
  }
}

/**
 * The Conv2D config to register over the stock one, which stays the fallback (its
 * `setupFunc` is carried over).
 *
 * @throws EngineError `E_KERNEL_UNSUPPORTED` for a case the SIMD route does not take when there is no stock kernel.
 */
export function createConv2DKernel(stock?: tf.KernelConfig): tf.KernelConfig {
  const kernelFunc: tf.KernelFunc = (args) => {
    const y = conv2DWasm(args);
    if (y !== undefined) return y;
    if (stock !== undefined) return stock.kernelFunc(args);
    throw new EngineError('E_KERNEL_UNSUPPORTED', `${tf.Conv2D} on the wasm backend needs the stock kernel for this input.`, {
      details: { kernel: tf.Conv2D },
    });
  };
  const config: tf.KernelConfig = { kernelName: tf.Conv2D, backendName: 'wasm', kernelFunc };
  if (stock?.setupFunc !== undefined) config.setupFunc = stock.setupFunc;
  return config;
}

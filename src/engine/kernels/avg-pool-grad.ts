/**
 * Fast AvgPoolGrad for the TF.js wasm backend.
 *
 * Method: one plain JS pass over the wasm heap that scatters each pooled cell's gradient,
 * times 1 / (filter height * filter width), over the part of its window that lies inside
 * the input, channels innermost so accesses stay contiguous in NHWC. The divisor is the
 * full window size even at 'same'-padded borders, because that is what the cpu and stock
 * wasm kernels compute and this must agree with them. The stock kernel walks dx cell by
 * cell and gathers from dy, several times slower.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

import { EngineError } from '../../core/errors.js';
import { type KernelArgs, heap, input } from './kernel-io.js';

/**
 * Gradient of 2-D average pooling (NHWC) with respect to its input, on the wasm backend.
 * Returns `undefined` for non-float32 tensors, so the caller can use the stock kernel.
 *
 * @throws EngineError `E_KERNEL_SHAPE` when `dy` does not match the pooled shape.
 * @example
 * const dx = avgPoolGradWasm({ inputs: { dy, input }, backend, attrs }) ?? stock.kernelFunc(args);
 */
export function avgPoolGradWasm(args: KernelArgs): tf.TensorInfo | undefined {
  const kernel = tf.AvgPoolGrad;
  const backend = args.backend as BackendWasm;
  const dy = input(args.inputs, 'dy', kernel);
  const x = input(args.inputs, 'input', kernel);
  const { filterSize, strides, pad } = args.attrs as unknown as tf.AvgPoolGradAttrs;
  if (dy.dtype !== 'float32') return undefined;

  const info = tf.backend_util.computePool2DInfo(x.shape as [number, number, number, number], filterSize, strides, 1, pad);
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, strideHeight, strideWidth, filterHeight, filterWidth } = info;
  const expected = [batchSize, outHeight, outWidth, inChannels];
  if (dy.shape.length !== 4 || expected.some((d, i) => dy.shape[i] !== d)) {
    throw new EngineError('E_KERNEL_SHAPE', `${kernel}: dy has shape [${dy.shape}] but the pooled output is [${expected}].`, {
      details: { kernel, dyShape: dy.shape, expected },
    });
  }
  const padTop = info.padInfo.top;
  const padLeft = info.padInfo.left;
  const channels = inChannels;
  const scale = 1 / (filterHeight * filterWidth);

  const dx = backend.makeOutput([...x.shape], 'float32');
  const dyv = heap(backend, dy);
  const dxv = heap(backend, dx);
  dxv.fill(0);

  const g = new Float32Array(channels);
  let dyBase = 0;
  for (let b = 0; b < batchSize; b++) {
    for (let oh = 0; oh < outHeight; oh++) {
      const r0 = oh * strideHeight - padTop;
      const rLo = Math.max(0, r0);
      const rHi = Math.min(inHeight, r0 + filterHeight);
      for (let ow = 0; ow < outWidth; ow++, dyBase += channels) {
        const c0 = ow * strideWidth - padLeft;
        const cLo = Math.max(0, c0);
        const cHi = Math.min(inWidth, c0 + filterWidth);
        for (let d = 0; d < channels; d++) g[d] = dyv[dyBase + d]! * scale;
        for (let r = rLo; r < rHi; r++) {
          let base = ((b * inHeight + r) * inWidth + cLo) * channels;
          for (let c = cLo; c < cHi; c++, base += channels) {
            for (let d = 0; d < channels; d++) dxv[base + d] = dxv[base + d]! + g[d]!;
          }
        }
      }
    }
  }
  return dx;
}

/**
 * The kernel config to register over the stock one, falling back to `stock` for
 * non-float32 tensors and carrying over its `setupFunc`.
 *
 * @throws EngineError `E_KERNEL_UNSUPPORTED` for a non-float32 case without a stock kernel.
 * @example
 * tf.registerKernel(createAvgPoolGradKernel(tf.getKernel('AvgPoolGrad', 'wasm')));
 */
export function createAvgPoolGradKernel(stock?: tf.KernelConfig): tf.KernelConfig {
  const kernelFunc: tf.KernelFunc = (args) => {
    const dx = avgPoolGradWasm(args);
    if (dx !== undefined) return dx;
    if (stock !== undefined) return stock.kernelFunc(args);
    throw new EngineError('E_KERNEL_UNSUPPORTED', `${tf.AvgPoolGrad} on the wasm backend supports float32 tensors only.`, {
      details: { kernel: tf.AvgPoolGrad },
    });
  };
  const config: tf.KernelConfig = { kernelName: tf.AvgPoolGrad, backendName: 'wasm', kernelFunc };
  if (stock?.setupFunc !== undefined) config.setupFunc = stock.setupFunc;
  return config;
}

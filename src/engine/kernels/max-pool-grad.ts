/**
 * Fast MaxPoolGrad for the TF.js wasm backend.
 *
 * Method: 2x2 windows with stride 2 and no padding (the pooling of nearly every CNN) with
 * a channel count divisible by 4 run the SIMD kernel in ../simd/kernels.wat, about 4x
 * faster than the JS loop below; everything else runs one plain JS pass over the wasm heap. For each pooled cell and channel the loop
 * finds the first strict maximum of the window in `input` (row-major window order) and
 * adds `dy` there. That is exactly the cpu backend's rule (`maxPoolPositions`:
 * `pixel > maxValue` from -Infinity), so ties go to the first position and a window of
 * only NaN and -Infinity passes no gradient. The equality-mask trick in ENGINE-NOTES
 * would route gradient to every tied position, which differs from cpu on ReLU zeros and
 * flat regions. 2x2 windows are unrolled; larger ones search for the pooled `output`
 * value instead of keeping a running max. The stock kernel is several times slower and
 * does not match cpu either: it sends ties to the last position, and misroutes or drops
 * the gradient of windows whose maximum is <= 0 (so the tests compare with cpu only).
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

import { EngineError } from '../../core/errors.js';
import { simdKernels, type PoolGeometry as SimdPoolGeometry } from '../simd/index.js';
import { type KernelArgs, heap, input } from './kernel-io.js';

/**
 * Gradient of 2-D max pooling (NHWC) with respect to its input, on the wasm backend.
 * Returns `undefined` for non-float32 tensors, so the caller can use the stock kernel.
 *
 * @throws EngineError `E_KERNEL_SHAPE` when `dy` does not match the pooled shape.
 * @example
 * const dx = maxPoolGradWasm({ inputs: { dy, input, output }, backend, attrs }) ?? stock.kernelFunc(args);
 */
export function maxPoolGradWasm(args: KernelArgs): tf.TensorInfo | undefined {
  const kernel = tf.MaxPoolGrad;
  const backend = args.backend as BackendWasm;
  const dy = input(args.inputs, 'dy', kernel);
  const x = input(args.inputs, 'input', kernel);
  const { filterSize, strides, pad, dimRoundingMode } = args.attrs as unknown as tf.MaxPoolGradAttrs;
  if (x.dtype !== 'float32' || dy.dtype !== 'float32') return undefined;

  const info = tf.backend_util.computePool2DInfo(x.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, strideHeight, strideWidth, filterHeight, filterWidth } = info;
  const expected = [batchSize, outHeight, outWidth, inChannels];
  if (dy.shape.length !== 4 || expected.some((d, i) => dy.shape[i] !== d)) {
    throw new EngineError('E_KERNEL_SHAPE', `${kernel}: dy has shape [${dy.shape}] but the pooled output is [${expected}].`, {
      details: { kernel, dyShape: dy.shape, expected },
    });
  }
  const dx = backend.makeOutput([...x.shape], 'float32');
  const simd = simdKernels(backend);
  const padding = info.padInfo;
  if (
    simd !== undefined &&
    filterHeight === 2 &&
    filterWidth === 2 &&
    strideHeight === 2 &&
    strideWidth === 2 &&
    padding.top === 0 &&
    padding.left === 0 &&
    2 * outHeight <= inHeight &&
    2 * outWidth <= inWidth &&
    inChannels % 4 === 0
  ) {
    simd.maxPoolGrad2x2(x, dy, dx, { batchSize, inHeight, inWidth, channels: inChannels, outHeight, outWidth });
    return dx;
  }
  const dxv = heap(backend, dx);
  dxv.fill(0);
  const xv = heap(backend, x);
  // `output`, the forward result, speeds up the search in windows other than 2x2. It is
  // only trusted without NaN in x: XNNPACK's max pooling lets a NaN hide part of a
  // window (it can even return -Infinity), while cpu skips NaN.
  const y = args.inputs['output'];
  const yUsable =
    !(filterHeight === 2 && filterWidth === 2) &&
    y !== undefined &&
    y.dtype === 'float32' &&
    y.shape.length === 4 &&
    expected.every((d, i) => y.shape[i] === d) &&
    !hasNaN(xv);
  scatterToFirstMax(xv, yUsable ? heap(backend, y) : undefined, heap(backend, dy), dxv, {
    batchSize,
    inHeight,
    inWidth,
    channels: inChannels,
    outHeight,
    outWidth,
    strideHeight,
    strideWidth,
    filterHeight,
    filterWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  });
  return dx;
}

function hasNaN(v: Float32Array): boolean {
  for (let i = 0; i < v.length; i++) if (v[i] !== v[i]) return true;
  return false;
}

/** The SIMD kernel's 2x2 geometry plus the window, stride and padding of the general loop. */
interface PoolGeometry extends SimdPoolGeometry {
  strideHeight: number;
  strideWidth: number;
  filterHeight: number;
  filterWidth: number;
  padTop: number;
  padLeft: number;
}

/**
 * dx[first max of each window] += dy, dx zeroed beforehand. 2x2 windows that lie inside
 * the image (nearly all of them in a CNN) are unrolled, ~1.5x faster than the general
 * loop. Other windows scan for the pooled value `yv` when it is given (~2x faster than a
 * running max on 3x3 windows, whose branches mispredict), else keep a running max.
 * Kept out of the kernel body so V8 optimises the hot loop alone.
 */
function scatterToFirstMax(xv: Float32Array, yv: Float32Array | undefined, dyv: Float32Array, dxv: Float32Array, g: PoolGeometry): void {
  const {
    batchSize,
    inHeight,
    inWidth,
    channels,
    outHeight,
    outWidth,
    strideHeight,
    strideWidth,
    filterHeight,
    filterWidth,
    padTop,
    padLeft,
  } = g;
  const offsets = new Int32Array(filterHeight * filterWidth);
  const twoByTwo = filterHeight === 2 && filterWidth === 2;
  const rowStride = inWidth * channels;
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
        if (twoByTwo && rLo === r0 && rHi === r0 + 2 && cLo === c0 && cHi === c0 + 2) {
          const p0 = ((b * inHeight + r0) * inWidth + c0) * channels;
          const p1 = p0 + channels;
          const p2 = p0 + rowStride;
          const p3 = p2 + channels;
          for (let d = 0; d < channels; d++) {
            // Same rule as the generic loop: strictly greater than the best so far,
            // starting from -Infinity, so NaN and -Infinity never win.
            let best = xv[p0 + d]!;
            let at = p0 + d;
            if (!(best > -Infinity)) {
              best = -Infinity;
              at = -1;
            }
            const v1 = xv[p1 + d]!;
            if (v1 > best) {
              best = v1;
              at = p1 + d;
            }
            const v2 = xv[p2 + d]!;
            if (v2 > best) {
              best = v2;
              at = p2 + d;
            }
            if (xv[p3 + d]! > best) at = p3 + d;
            if (at >= 0) dxv[at] = dxv[at]! + dyv[dyBase + d]!;
          }
          continue;
        }
        let n = 0;
        for (let r = rLo; r < rHi; r++) {
          let base = ((b * inHeight + r) * inWidth + cLo) * channels;
          for (let c = cLo; c < cHi; c++, base += channels) offsets[n++] = base;
        }
        for (let d = 0; d < channels; d++) {
          if (yv !== undefined) {
            // The pooled value is the window's maximum, so its first occurrence is the
            // first strict maximum: one predictable scan instead of a running max. A
            // -Infinity maximum or no match falls through to the full search.
            const m = yv[dyBase + d]!;
            if (m > -Infinity) {
              let k = 0;
              while (k < n && xv[offsets[k]! + d] !== m) k++;
              if (k < n) {
                const i = offsets[k]! + d;
                dxv[i] = dxv[i]! + dyv[dyBase + d]!;
                continue;
              }
            }
          }
          let best = -Infinity;
          let at = -1;
          for (let k = 0; k < n; k++) {
            const i = offsets[k]! + d;
            const v = xv[i]!;
            if (v > best) {
              best = v;
              at = i;
            }
          }
          if (at >= 0) dxv[at] = dxv[at]! + dyv[dyBase + d]!;
        }
      }
    }
  }
}

/**
 * The kernel config to register over the stock one, falling back to `stock` for
 * non-float32 tensors and carrying over its `setupFunc`.
 *
 * @throws EngineError `E_KERNEL_UNSUPPORTED` for a non-float32 case without a stock kernel.
 * @example
 * tf.registerKernel(createMaxPoolGradKernel(tf.getKernel('MaxPoolGrad', 'wasm')));
 */
export function createMaxPoolGradKernel(stock?: tf.KernelConfig): tf.KernelConfig {
  const kernelFunc: tf.KernelFunc = (args) => {
    const dx = maxPoolGradWasm(args);
    if (dx !== undefined) return dx;
    if (stock !== undefined) return stock.kernelFunc(args);
    throw new EngineError('E_KERNEL_UNSUPPORTED', `${tf.MaxPoolGrad} on the wasm backend supports float32 tensors only.`, {
      details: { kernel: tf.MaxPoolGrad },
    });
  };
  const config: tf.KernelConfig = { kernelName: tf.MaxPoolGrad, backendName: 'wasm', kernelFunc };
  if (stock?.setupFunc !== undefined) config.setupFunc = stock.setupFunc;
  return config;
}

/**
 * Fast Conv2DBackpropInput for the TF.js wasm backend, by one of two methods, both built
 * on the backend's own XNNPACK kernels (the stock kernel is a direct loop, several times
 * slower).
 *
 * Transposed convolution: for stride 1 the input gradient is a forward convolution of the
 * output gradient, padded by (filter size - 1 - forward padding), with the filter
 * spatially reversed and its in/out channels swapped; it runs as one wasm `Conv2D`.
 *
 * Matmul + col2im: cols = dy [rows, Cout] · filterᵀ [Cout, KH*KW*Cin] on the wasm
 * `BatchMatMul`, then a plain JS loop adds each row of cols back onto the input window it
 * came from. Used for strides > 1 (the convolution route would need a zero-dilated
 * gradient and multiply stride² times more zeros than values), for Cin <= 2 (XNNPACK pads
 * a convolution's output channels to 8, so a 1-channel input gradient wastes 8x; the
 * first layer on grey images is 2-3x faster this way), and for forward paddings wider
 * than filter - 1 (which the transposed convolution would have to crop). Rows are
 * chunked so the cols buffer stays small.
 *
 * Inputs of 1-2 channels with stride 1 (the first layer on grey images) and an output
 * channel count divisible by 4 skip both: the SIMD kernel in ../simd/kernels.wat gathers each
 * input cell's gradient directly (one channel: about 3x faster than matmul + col2im).
 *
 * NCHW and non-float32 tensors go to the stock kernel.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

import { EngineError } from '../../core/errors.js';
import { simdKernels } from '../simd/index.js';
import {
  type ConvGeometry,
  type KernelArgs,
  channelsLastConvInfo,
  convGeometry,
  heap,
  input,
  transposed,
  wasmKernel,
} from './kernel-io.js';

/** Route choices, exported so tests can force each route. */
export const conv2DBackpropInputOptions = {
  /**
   * The sparse SIMD scatter runs when at most this share of dy is non-zero. It does
   * ~1/density of the dense work per non-zero but without XNNPACK's blocking, so it wins
   * below about half dense (measured on the benchmark CNN's second layer, where a 2x2
   * max pool and ReLU leave ~15% of dy non-zero: 3x faster). Against the dense SIMD
   * convolution it wins only on wide windows over many channels (measured, batch 32: a
   * 5x5 filter over 32 channels and a 3x3 over 64 break even near 20-25% density; 1x1
   * filters and 16 channels lose even at 15%), hence the gates below. 0 disables it, 1
   * forces it (with the gates at 0 / 1).
   */
  sparseMaxDensity: 0.2,
  /** The sparse scatter only with at least this many input channels. */
  sparseMinInChannels: 32,
  /** The sparse scatter only with at least this many filter taps (KH * KW). */
  sparseMinTaps: 2,
  /**
   * Stride-1 input gradients with at most this many input channels by the SIMD gather
   * (measured at 64x32x32, 3x3: 2 channels 2x faster than matmul + col2im; 3 channels 1.3-2x
   * slower than the transposed XNNPACK convolution, which 3 channels make reachable).
   */
  gatherMaxInChannels: 2,
  /** col2im by the SIMD kernel when the input channels are a multiple of 4 (false: the JS loop). */
  simdCol2im: true,
  /** Preferred size of one chunk's cols buffer, in floats. */
  targetColsFloats: 1 << 20,
  /** Lower bound on matmul rows per chunk. */
  minRows: 512,
  /** Hard upper bound on one chunk's cols buffer, in floats (64 MB). */
  maxColsFloats: 1 << 24,
};

/**
 * Gradient of a 2-D convolution with respect to its input, on the wasm backend. Returns
 * `undefined` for a case it does not handle (NCHW, non-float32, empty), so the caller
 * can use the stock kernel.
 *
 * @throws EngineError `E_KERNEL_MISSING` when a wasm kernel it builds on is not
 *   registered, `E_KERNEL_SHAPE` when `dy` does not match the convolution's output shape.
 * @example
 * const dx = conv2DBackpropInputWasm({ inputs: { dy, filter }, backend, attrs }) ?? stock.kernelFunc(args);
 */
export function conv2DBackpropInputWasm(args: KernelArgs): tf.TensorInfo | undefined {
  const kernel = tf.Conv2DBackpropInput;
  const backend = args.backend as BackendWasm;
  const dy = input(args.inputs, 'dy', kernel);
  const filter = input(args.inputs, 'filter', kernel);
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
  if (dataFormat === 'NCHW' || dy.dtype !== 'float32' || filter.dtype !== 'float32') return undefined;

  const info = channelsLastConvInfo(inputShape, filter.shape, strides, pad, dimRoundingMode);
  const g = convGeometry(info);
  const expected = [g.batchSize, g.outHeight, g.outWidth, g.outChannels];
  if (dy.shape.length !== 4 || expected.some((d, i) => dy.shape[i] !== d)) {
    throw new EngineError('E_KERNEL_SHAPE', `${kernel}: dy has shape [${dy.shape}] but the convolution's output is [${expected}].`, {
      details: { kernel, dyShape: dy.shape, expected },
    });
  }
  if (g.batchSize * g.outHeight * g.outWidth * g.inHeight * g.inWidth * g.inChannels * g.outChannels === 0) return undefined;

  const simd = simdKernels(backend);
  if (simd !== undefined) {
    // The scatter's vectors run over input channels; with fewer than 4 (a first layer)
    // it goes scalar and is slower than the gather below even at 10% density.
    const o = conv2DBackpropInputOptions;
    const sparseFits = g.inChannels % 4 === 0 && g.inChannels >= o.sparseMinInChannels && g.filterHeight * g.filterWidth >= o.sparseMinTaps;
    if (sparseFits && simd.sparse(dy, o.sparseMaxDensity)) {
      // The filter as [Cout, KH, KW, Cin]: one output channel's taps contiguous.
      const taps = transposed(backend, filter, [3, 0, 1, 2], kernel);
      const dx = backend.makeOutput([g.batchSize, g.inHeight, g.inWidth, g.inChannels], 'float32');
      simd.convSparseScatter('input', dy, dx, taps, g);
      backend.disposeData(taps.dataId);
      return dx;
    }
    if (
      g.inChannels <= conv2DBackpropInputOptions.gatherMaxInChannels &&
      g.strideHeight === 1 &&
      g.strideWidth === 1 &&
      g.outChannels % 4 === 0
    ) {
      const dx = backend.makeOutput([g.batchSize, g.inHeight, g.inWidth, g.inChannels], 'float32');
      simd.convInputGradientC1(dy, filter, dx, g);
      return dx;
    }
  }

  // Padding of dy for the transposed convolution; negative means a crop.
  const top = g.filterHeight - 1 - g.padTop;
  const left = g.filterWidth - 1 - g.padLeft;
  const bottom = g.inHeight + g.filterHeight - 1 - top - g.outHeight;
  const right = g.inWidth + g.filterWidth - 1 - left - g.outWidth;
  const transposedConv = g.strideHeight === 1 && g.strideWidth === 1 && g.inChannels > 2 && Math.min(top, left, bottom, right) >= 0;
  return transposedConv ? viaConv2D(backend, dy, filter, g, [top, bottom, left, right]) : viaCol2im(backend, dy, filter, g);
}

function viaConv2D(
  backend: BackendWasm,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  g: ConvGeometry,
  [top, bottom, left, right]: [number, number, number, number],
): tf.TensorInfo {
  // Rampart's Conv2D (./conv2d.ts) where it applies, else the stock XNNPACK one.
  const conv2D = wasmKernel(tf.Conv2D, tf.Conv2DBackpropInput);
  const { filterHeight, filterWidth, inChannels, outChannels } = g;
  const flipped = backend.makeOutput([filterHeight, filterWidth, outChannels, inChannels], 'float32');
  const wv = heap(backend, filter);
  const fv = heap(backend, flipped);
  for (let kh = 0; kh < filterHeight; kh++) {
    for (let kw = 0; kw < filterWidth; kw++) {
      const src = ((filterHeight - 1 - kh) * filterWidth + (filterWidth - 1 - kw)) * inChannels * outChannels;
      const dst = (kh * filterWidth + kw) * outChannels * inChannels;
      for (let ci = 0; ci < inChannels; ci++) {
        for (let co = 0; co < outChannels; co++) fv[dst + co * inChannels + ci] = wv[src + ci * outChannels + co]!;
      }
    }
  }
  const dx = conv2D.kernelFunc({
    inputs: { x: dy, filter: flipped },
    backend,
    attrs: {
      strides: [1, 1],
      pad: [
        [0, 0],
        [top, bottom],
        [left, right],
        [0, 0],
      ],
      dataFormat: 'NHWC',
      dilations: [1, 1],
    },
  }) as tf.TensorInfo;
  backend.disposeData(flipped.dataId);
  return dx;
}

function viaCol2im(backend: BackendWasm, dy: tf.TensorInfo, filter: tf.TensorInfo, g: ConvGeometry): tf.TensorInfo {
  const batchMatMul = wasmKernel(tf.BatchMatMul, tf.Conv2DBackpropInput);
  const simd = simdKernels(backend);
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, filterHeight, filterWidth } = g;
  const kSize = filterHeight * filterWidth * inChannels;
  const units = batchSize * outHeight;
  const { targetColsFloats, minRows, maxColsFloats } = conv2DBackpropInputOptions;
  const unitFloats = outWidth * kSize;
  const preferredUnits = Math.max(Math.ceil(minRows / outWidth), Math.floor(targetColsFloats / unitFloats));
  const unitsPerChunk = Math.max(1, Math.min(preferredUnits, Math.floor(maxColsFloats / unitFloats)));

  // filterᵀ [Cout, K]; one tensor for all chunks, so XNNPACK packs it once.
  const filterT = backend.makeOutput([outChannels, kSize], 'float32');
  const dx = backend.makeOutput([batchSize, inHeight, inWidth, inChannels], 'float32');
  {
    const wv = heap(backend, filter);
    const tv = heap(backend, filterT);
    for (let k = 0; k < kSize; k++) {
      for (let co = 0; co < outChannels; co++) tv[co * kSize + k] = wv[k * outChannels + co]!;
    }
    heap(backend, dx).fill(0);
  }

  for (let u0 = 0; u0 < units; u0 += unitsPerChunk) {
    const u1 = Math.min(units, u0 + unitsPerChunk);
    const rows = (u1 - u0) * outWidth;
    // The matmul caches nothing on its left operand, so a reshaped view of dy is safe
    // there; a chunk of it needs a copy, since a view cannot start mid-tensor.
    let dyRows: tf.TensorInfo = { dataId: dy.dataId, shape: [rows, outChannels], dtype: 'float32' };
    if (rows !== batchSize * outHeight * outWidth) {
      dyRows = backend.makeOutput([rows, outChannels], 'float32');
      const offset = u0 * outWidth * outChannels;
      heap(backend, dyRows).set(heap(backend, dy).subarray(offset, offset + rows * outChannels));
    }
    const cols = batchMatMul.kernelFunc({
      inputs: { a: dyRows, b: filterT },
      backend,
      attrs: { transposeA: false, transposeB: false },
    }) as tf.TensorInfo;
    if (dyRows.dataId !== dy.dataId) backend.disposeData(dyRows.dataId);
    if (simd !== undefined && inChannels % 4 === 0 && conv2DBackpropInputOptions.simdCol2im) simd.col2imAdd(cols, dx, g, u0, u1);
    else col2im(heap(backend, cols), heap(backend, dx), g, u0, u1);
    backend.disposeData(cols.dataId);
  }
  backend.disposeData(filterT.dataId);
  return dx;
}

/**
 * Adds cols[r, k] (r = (unit - u0) * OW + ow, k = (kh * KW + kw) * Cin + ci) onto the
 * input cell the forward window read it from, skipping padding. Kept out of the kernel
 * body so V8 optimises the hot loop alone.
 */
function col2im(cv: Float32Array, dv: Float32Array, g: ConvGeometry, u0: number, u1: number): void {
  const { inHeight, inWidth, inChannels, outHeight, outWidth, filterHeight, filterWidth, strideHeight, strideWidth, padTop, padLeft } = g;
  let src = 0;
  for (let u = u0; u < u1; u++) {
    const b = Math.floor(u / outHeight);
    const oh = u - b * outHeight;
    for (let ow = 0; ow < outWidth; ow++) {
      for (let kh = 0; kh < filterHeight; kh++) {
        const ih = oh * strideHeight + kh - padTop;
        if (ih < 0 || ih >= inHeight) {
          src += filterWidth * inChannels;
          continue;
        }
        const rowBase = (b * inHeight + ih) * inWidth;
        for (let kw = 0; kw < filterWidth; kw++, src += inChannels) {
          const iw = ow * strideWidth + kw - padLeft;
          if (iw < 0 || iw >= inWidth) continue;
          const dst = (rowBase + iw) * inChannels;
          for (let c = 0; c < inChannels; c++) dv[dst + c] = dv[dst + c]! + cv[src + c]!;
        }
      }
    }
  }
}

/**
 * The kernel config to register over the stock one, falling back to `stock` for the
 * cases above and carrying over its `setupFunc` so the backend still initialises it.
 *
 * @throws EngineError `E_KERNEL_UNSUPPORTED` for such a case when there is no stock kernel.
 * @example
 * tf.registerKernel(createConv2DBackpropInputKernel(tf.getKernel('Conv2DBackpropInput', 'wasm')));
 */
export function createConv2DBackpropInputKernel(stock?: tf.KernelConfig): tf.KernelConfig {
  const kernelFunc: tf.KernelFunc = (args) => {
    const dx = conv2DBackpropInputWasm(args);
    if (dx !== undefined) return dx;
    if (stock !== undefined) return stock.kernelFunc(args);
    throw new EngineError(
      'E_KERNEL_UNSUPPORTED',
      `${tf.Conv2DBackpropInput} on the wasm backend: NCHW, non-float32 and empty tensors need the stock kernel, which is not registered.`,
      { details: { kernel: tf.Conv2DBackpropInput, attrs: args.attrs } },
    );
  };
  const config: tf.KernelConfig = { kernelName: tf.Conv2DBackpropInput, backendName: 'wasm', kernelFunc };
  if (stock?.setupFunc !== undefined) config.setupFunc = stock.setupFunc;
  return config;
}

/**
 * Conv2DBackpropFilter for the TF.js wasm backend, which ships without one, so conv
 * layers cannot train there.
 *
 * Method: im2col of `x` written by a plain JS loop straight into the wasm heap, laid out
 * transposed as patchesᵀ = [KH*KW*Cin, rows], then the backend's own `BatchMatMul`
 * computing patchesᵀ · dy = [KH*KW*Cin, Cout], which is already the filter layout
 * [KH, KW, Cin, Cout]. The transposed layout matters: the wasm matmul only takes its
 * XNNPACK path when neither operand is transposed; with `transposeA` it falls back to a
 * naive loop that is ~10x slower. When Cout > KH*KW*Cin (a first layer on grey images)
 * the product is turned around, dyᵀ · patches, because XNNPACK repacks the right operand
 * on every call and the smaller one should go there (3x faster on a 1-channel 3x3
 * layer). Work is chunked over (batch, output row) units so the patch buffer stays small;
 * one matmul per chunk, partial products summed in JS.
 *
 * Three cases skip all that for a SIMD kernel (../simd/kernels.wat): one input channel (a
 * first layer on grey images); input channels a multiple of 4 with a mostly-zero dy
 * (behind ReLU and max pooling), scattered from dy's non-zero entries only; and input
 * channels a multiple of 4 with output channels a multiple of 8 (every layer of ResNet-20
 * but the stem), dense: 4 x 8 channel blocks accumulate in registers over cache-sized tiles
 * of output rows, with no im2col buffer (3-6x faster than im2col + matmul there, and the
 * patch buffer no longer adds to peak memory).
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

/**
 * Chunking of the im2col buffer, exported so tests can force the multi-chunk path on
 * small inputs. Measured on the benchmark CNN, chunks of ~1 MB of patches ran ~10% faster
 * than one big buffer (the matmul's operands stay in cache), so that is the target.
 */
export const conv2DBackpropFilterOptions = {
  /**
   * The sparse SIMD scatter (../simd/kernels.wat) runs when at most this share of dy is
   * non-zero and the input channels are a multiple of 4; measured on the benchmark CNN's
   * second layer (~15% of dy non-zero behind ReLU and a 2x2 max pool) it is ~3x faster
   * than im2col + matmul. Against the dense SIMD kernel it wins only on wide windows over
   * many channels (measured, batch 32: a 5x5 filter over 32 channels breaks even near 20%
   * density; 1x1 filters and 16 channels lose even at 15%), hence the gates below.
   * 0 disables it, 1 forces it (with the gates at 0 / 1).
   */
  sparseMaxDensity: 0.2,
  /** The sparse scatter only with at least this many input channels. */
  sparseMinInChannels: 32,
  /** The sparse scatter only with at least this many filter taps (KH * KW). */
  sparseMinTaps: 2,
  /**
   * The dense SIMD kernel (inChannels % 4 === 0, outChannels % 8 === 0) works on tiles of
   * output rows whose dy and x rows take about this many bytes, so they stay in cache while
   * every tap and channel block passes over them. false sends those shapes to im2col + matmul.
   */
  denseTileBytes: 32 * 1024,
  dense: true,
  /** Preferred size of one chunk's im2col buffer, in floats. */
  targetPatchFloats: 1 << 18,
  /** Lower bound on matmul rows per chunk, so wide filters still get sizeable products. */
  minRows: 512,
  /** Hard upper bound on one chunk's im2col buffer, in floats (64 MB). */
  maxPatchFloats: 1 << 24,
};

/**
 * Gradient of a 2-D convolution with respect to its filter, NHWC, on the wasm backend.
 *
 * @throws EngineError `E_KERNEL_DATA_FORMAT` for NCHW, `E_KERNEL_DTYPE` for non-float32
 *   inputs, `E_KERNEL_SHAPE` when `dy` does not match the convolution's output shape.
 * @example
 * tf.registerKernel({ kernelName: 'Conv2DBackpropFilter', backendName: 'wasm', kernelFunc: conv2DBackpropFilterWasm });
 */
export function conv2DBackpropFilterWasm(args: KernelArgs): tf.TensorInfo {
  const kernel = tf.Conv2DBackpropFilter;
  const backend = args.backend as BackendWasm;
  const x = input(args.inputs, 'x', kernel);
  const dy = input(args.inputs, 'dy', kernel);
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;

  if (dataFormat === 'NCHW') {
    throw new EngineError(
      'E_KERNEL_DATA_FORMAT',
      `${kernel} on the wasm backend supports dataFormat 'NHWC' only; got 'NCHW'. Transpose the input to NHWC.`,
      { details: { kernel, dataFormat, valid: ['NHWC'] } },
    );
  }
  if (x.dtype !== 'float32' || dy.dtype !== 'float32') {
    throw new EngineError('E_KERNEL_DTYPE', `${kernel} on the wasm backend needs float32 x and dy; got ${x.dtype} and ${dy.dtype}.`, {
      details: { kernel, xDtype: x.dtype, dyDtype: dy.dtype },
    });
  }

  const info = channelsLastConvInfo(x.shape, filterShape, strides, pad, dimRoundingMode);
  const g = convGeometry(info);
  const { batchSize, inChannels, outHeight, outWidth, outChannels, filterHeight, filterWidth } = g;
  const expected = [batchSize, outHeight, outWidth, outChannels];
  if (dy.shape.length !== 4 || expected.some((d, i) => dy.shape[i] !== d)) {
    throw new EngineError('E_KERNEL_SHAPE', `${kernel}: dy has shape [${dy.shape}] but the convolution's output is [${expected}].`, {
      details: { kernel, dyShape: dy.shape, expected },
    });
  }

  const kSize = filterHeight * filterWidth * inChannels;
  const units = batchSize * outHeight;
  if (units * outWidth * kSize * outChannels === 0) {
    const zeros = backend.makeOutput(filterShape, 'float32');
    heap(backend, zeros).fill(0);
    return zeros;
  }
  const simd = simdKernels(backend);
  if (simd !== undefined && inChannels === 1 && outChannels % 4 === 0) {
    const dw = backend.makeOutput(filterShape, 'float32');
    simd.convFilterGradientC1(x, dy, dw, g);
    return dw;
  }
  const o = conv2DBackpropFilterOptions;
  const sparseFits = inChannels % 4 === 0 && inChannels >= o.sparseMinInChannels && filterHeight * filterWidth >= o.sparseMinTaps;
  if (simd !== undefined && sparseFits && simd.sparse(dy, o.sparseMaxDensity)) {
    // The gradient comes out as [Cout, KH, KW, Cin], one output channel's taps contiguous.
    const taps = backend.makeOutput([outChannels, filterHeight, filterWidth, inChannels], 'float32');
    simd.convSparseScatter('filter', dy, x, taps, g);
    const dw = transposed(backend, taps, [1, 2, 3, 0], kernel);
    backend.disposeData(taps.dataId);
    return dw;
  }
  if (simd !== undefined && conv2DBackpropFilterOptions.dense && inChannels % 4 === 0 && outChannels % 8 === 0) {
    const dw = backend.makeOutput(filterShape, 'float32');
    simd.convFilterGradientDense(x, dy, dw, g, denseTileRows(g));
    return dw;
  }
  const { targetPatchFloats, minRows, maxPatchFloats } = conv2DBackpropFilterOptions;
  const unitFloats = outWidth * kSize;
  const preferredUnits = Math.max(Math.ceil(minRows / outWidth), Math.floor(targetPatchFloats / unitFloats));
  const unitsPerChunk = Math.max(1, Math.min(preferredUnits, Math.floor(maxPatchFloats / unitFloats)));
  const batchMatMul = wasmKernel(tf.BatchMatMul, kernel);
  // XNNPACK repacks the matmul's right operand on every call (it is a fresh tensor each
  // time), and that packing costs as much as the product itself, so the smaller of
  // dy [rows, Cout] and patches [rows, K] goes on the right.
  const patchesOnLeft = outChannels <= kSize;
  const singleChunk = unitsPerChunk >= units;

  let acc: Float64Array | undefined;
  for (let u0 = 0; u0 < units; u0 += unitsPerChunk) {
    const u1 = Math.min(units, u0 + unitsPerChunk);
    const rows = (u1 - u0) * outWidth;
    const dyOffset = u0 * outWidth * outChannels;
    let part: tf.TensorInfo;
    if (patchesOnLeft) {
      // patchesᵀ [K, rows] · dy [rows, Cout] = [K, Cout]. dy is copied even when one
      // chunk covers it: the wasm matmul caches its XNNPACK operator by the id of `b`
      // alone, so a reshaped view of a tensor that another matmul used with another
      // shape would hit a stale operator.
      const patches = backend.makeOutput([kSize, rows], 'float32');
      const dyChunk = backend.makeOutput([rows, outChannels], 'float32');
      // Views only after the last allocation: a malloc may grow and detach the heap.
      heap(backend, dyChunk).set(heap(backend, dy).subarray(dyOffset, dyOffset + rows * outChannels));
      im2colColumns(heap(backend, x), heap(backend, patches), g, u0, u1, rows);
      part = batchMatMul.kernelFunc({
        inputs: { a: patches, b: dyChunk },
        backend,
        attrs: { transposeA: false, transposeB: false },
      }) as tf.TensorInfo;
      backend.disposeData(patches.dataId);
      backend.disposeData(dyChunk.dataId);
      if (singleChunk) {
        // The [K, Cout] product is the filter [KH, KW, Cin, Cout] in row-major order.
        return { dataId: part.dataId, shape: [...filterShape], dtype: 'float32' };
      }
    } else {
      // dyᵀ [Cout, rows] · patches [rows, K] = [Cout, K], transposed while summing.
      let dyRows: tf.TensorInfo = { dataId: dy.dataId, shape: [rows, outChannels], dtype: 'float32' };
      if (!singleChunk) {
        dyRows = backend.makeOutput([rows, outChannels], 'float32');
        heap(backend, dyRows).set(heap(backend, dy).subarray(dyOffset, dyOffset + rows * outChannels));
      }
      const dyT = transposed(backend, dyRows, [1, 0], kernel);
      if (!singleChunk) backend.disposeData(dyRows.dataId);
      const patches = backend.makeOutput([rows, kSize], 'float32');
      im2colRows(heap(backend, x), heap(backend, patches), g, u0, u1);
      part = batchMatMul.kernelFunc({
        inputs: { a: dyT, b: patches },
        backend,
        attrs: { transposeA: false, transposeB: false },
      }) as tf.TensorInfo;
      backend.disposeData(patches.dataId);
      backend.disposeData(dyT.dataId);
    }
    acc ??= new Float64Array(kSize * outChannels);
    const pv = heap(backend, part);
    if (patchesOnLeft) {
      for (let i = 0; i < acc.length; i++) acc[i] = acc[i]! + pv[i]!;
    } else {
      for (let co = 0; co < outChannels; co++) {
        for (let k = 0; k < kSize; k++) acc[k * outChannels + co] = acc[k * outChannels + co]! + pv[co * kSize + k]!;
      }
    }
    backend.disposeData(part.dataId);
  }
  const out = backend.makeOutput([...filterShape], 'float32');
  heap(backend, out).set(acc!);
  return out;
}

/** Output rows per tile of the dense SIMD kernel: one output row's dy and the input rows it reads, to the byte budget. */
function denseTileRows(g: ConvGeometry): number {
  const rowBytes = 4 * (g.outWidth * g.outChannels + g.strideHeight * g.inWidth * g.inChannels);
  return Math.max(1, Math.min(g.outHeight, Math.floor(conv2DBackpropFilterOptions.denseTileBytes / rowBytes)));
}

/**
 * Patches of the (batch, output row) units [u0, u1) as rows: patches[r, k] with
 * r = (unit - u0) * OW + ow and k = (kh * KW + kw) * Cin + ci; zero where the window
 * hangs over the padding. Kept out of the kernel body so V8 optimises the hot loop alone.
 */
function im2colRows(xv: Float32Array, pv: Float32Array, g: ConvGeometry, u0: number, u1: number): void {
  const { inHeight, inWidth, inChannels, outHeight, outWidth, filterHeight, filterWidth, strideHeight, strideWidth, padTop, padLeft } = g;
  let dst = 0;
  for (let u = u0; u < u1; u++) {
    const b = Math.floor(u / outHeight);
    const oh = u - b * outHeight;
    for (let ow = 0; ow < outWidth; ow++) {
      for (let kh = 0; kh < filterHeight; kh++) {
        const ih = oh * strideHeight + kh - padTop;
        const rowInside = ih >= 0 && ih < inHeight;
        const rowBase = (b * inHeight + ih) * inWidth;
        for (let kw = 0; kw < filterWidth; kw++) {
          const iw = ow * strideWidth + kw - padLeft;
          if (!rowInside || iw < 0 || iw >= inWidth) {
            for (let c = 0; c < inChannels; c++) pv[dst++] = 0;
            continue;
          }
          let src = (rowBase + iw) * inChannels;
          for (let c = 0; c < inChannels; c++) pv[dst++] = xv[src++]!;
        }
      }
    }
  }
}

/**
 * The same patches transposed, patches[k, r] in a [K, rows] buffer. The inner loop runs
 * over channels, so reads stay contiguous and each output row is written in order.
 */
function im2colColumns(xv: Float32Array, pv: Float32Array, g: ConvGeometry, u0: number, u1: number, rows: number): void {
  const { inHeight, inWidth, inChannels, outHeight, outWidth, filterHeight, filterWidth, strideHeight, strideWidth, padTop, padLeft } = g;
  for (let u = u0; u < u1; u++) {
    const b = Math.floor(u / outHeight);
    const oh = u - b * outHeight;
    const col0 = (u - u0) * outWidth;
    for (let kh = 0; kh < filterHeight; kh++) {
      const ih = oh * strideHeight + kh - padTop;
      const rowInside = ih >= 0 && ih < inHeight;
      const rowBase = (b * inHeight + ih) * inWidth;
      for (let kw = 0; kw < filterWidth; kw++) {
        const rowStart = (kh * filterWidth + kw) * inChannels * rows + col0;
        for (let ow = 0; ow < outWidth; ow++) {
          const iw = ow * strideWidth + kw - padLeft;
          let dst = rowStart + ow;
          if (!rowInside || iw < 0 || iw >= inWidth) {
            for (let c = 0; c < inChannels; c++, dst += rows) pv[dst] = 0;
            continue;
          }
          const src = (rowBase + iw) * inChannels;
          for (let c = 0; c < inChannels; c++, dst += rows) pv[dst] = xv[src + c]!;
        }
      }
    }
  }
}

/**
 * The kernel config to register over the stock one. `stock` is the backend's own config
 * if it has one (TF.js 4.22 has none); it is then kept as the fallback for NCHW, and its
 * `setupFunc` is carried over so the backend still initialises it.
 *
 * @example
 * tf.registerKernel(createConv2DBackpropFilterKernel(tf.getKernel('Conv2DBackpropFilter', 'wasm')));
 */
export function createConv2DBackpropFilterKernel(stock?: tf.KernelConfig): tf.KernelConfig {
  const kernelFunc: tf.KernelFunc = (args) => {
    const attrs = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
    if (attrs.dataFormat === 'NCHW' && stock !== undefined) return stock.kernelFunc(args);
    return conv2DBackpropFilterWasm(args);
  };
  const config: tf.KernelConfig = { kernelName: tf.Conv2DBackpropFilter, backendName: 'wasm', kernelFunc };
  if (stock?.setupFunc !== undefined) config.setupFunc = stock.setupFunc;
  return config;
}

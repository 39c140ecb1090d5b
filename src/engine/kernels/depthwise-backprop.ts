/**
 * The depthwise convolution gradients for the TF.js wasm backend, which ships without them
 * (a MobileNet-style block cannot be attacked or trained there at all):
 * DepthwiseConv2dNativeBackpropInput and DepthwiseConv2dNativeBackpropFilter.
 *
 * Method: with channel multiplier 1 and channels % 4 === 0 (MobileNet's depthwise layers),
 * the SIMD kernels of simd/depthwise.wat, in place on the heap: the input gradient
 * scatters dy * filter four channels per instruction, the filter gradient sums one image
 * at a time in f32 registers and the images in float64 here. Otherwise (or with
 * `depthwiseBackpropOptions.simd` off) one pass over dy per gradient, plain JS loops on the wasm heap, NHWC with the
 * channel axis innermost so every inner loop walks contiguous memory. The input gradient
 * scatters each dy cell through the filter taps into dx; the filter gradient accumulates
 * x · dy per tap and channel in float64 (sums over batch × output cells are long).
 * (TF.js has no gradient for a dilated depthwise convolution.) Strides, explicit and 'same' padding and channel multipliers follow
 * `computeConv2DInfo`, as on the cpu backend.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

import { EngineError } from '../../core/errors.js';
import { type DepthwiseGeometry, simdKernels } from '../simd/index.js';
import { type KernelArgs, convGeometry, heap, input, wasmKernel } from './kernel-io.js';

/** Route switches for benchmarks and tests. */
export const depthwiseBackpropOptions = {
  /** false sends every depthwise gradient to the JS loops. */
  simd: true,
  /** The stride-1 input gradient as XNNPACK's forward depthwise convolution (false: the SIMD scatter). */
  transposed: true,
};

type Shape4 = [number, number, number, number];

function checkFloat(kernel: string, ...ts: tf.TensorInfo[]): void {
  const bad = ts.find((t) => t.dtype !== 'float32');
  if (bad !== undefined) {
    throw new EngineError('E_KERNEL_DTYPE', `${kernel} on the wasm backend needs float32 inputs; got ${bad.dtype}.`, {
      details: { kernel, dtype: bad.dtype },
    });
  }
}

function info(kernel: string, xShape: Shape4, filterShape: Shape4, attrs: tf.DepthwiseConv2dNativeBackpropInputAttrs, dy: tf.TensorInfo) {
  const { strides, dilations, pad, dimRoundingMode } = attrs;
  const c = tf.backend_util.computeConv2DInfo(xShape, filterShape, strides, dilations, pad, dimRoundingMode, true);
  const expected = [c.batchSize, c.outHeight, c.outWidth, c.outChannels];
  if (dy.shape.length !== 4 || expected.some((d, i) => dy.shape[i] !== d)) {
    throw new EngineError('E_KERNEL_SHAPE', `${kernel}: dy has shape [${dy.shape}] but the convolution's output is [${expected}].`, {
      details: { kernel, dyShape: dy.shape, expected },
    });
  }
  return c;
}

/** The SIMD kernels and the geometry, when they cover this convolution (multiplier 1, channels % 4 === 0). */
function simdRoute(backend: BackendWasm, c: tf.backend_util.Conv2DInfo) {
  if (!depthwiseBackpropOptions.simd || c.outChannels !== c.inChannels || c.inChannels % 4 !== 0) return undefined;
  const simd = simdKernels(backend);
  if (simd === undefined) return undefined;
  const g: DepthwiseGeometry = { ...convGeometry(c), dilationHeight: c.dilationHeight, dilationWidth: c.dilationWidth };
  return { simd, g };
}

/**
 * Visits every (dy cell, filter tap) pair of a depthwise convolution whose input cell is
 * inside the image: `visit(dyOffset, xOffset, tapOffset)` with offsets of channel 0.
 */
function forEachTap(c: tf.backend_util.Conv2DInfo, visit: (dyAt: number, xAt: number, tapAt: number) => void): void {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = c;
  const { filterHeight, filterWidth, strideHeight, strideWidth, dilationHeight, dilationWidth } = c;
  const padTop = c.padInfo.top;
  const padLeft = c.padInfo.left;
  for (let b = 0; b < batchSize; b++) {
    for (let oh = 0; oh < outHeight; oh++) {
      for (let ow = 0; ow < outWidth; ow++) {
        const dyAt = ((b * outHeight + oh) * outWidth + ow) * outChannels;
        for (let kh = 0; kh < filterHeight; kh++) {
          const ih = oh * strideHeight - padTop + kh * dilationHeight;
          if (ih < 0 || ih >= inHeight) continue;
          for (let kw = 0; kw < filterWidth; kw++) {
            const iw = ow * strideWidth - padLeft + kw * dilationWidth;
            if (iw < 0 || iw >= inWidth) continue;
            visit(dyAt, ((b * inHeight + ih) * inWidth + iw) * inChannels, (kh * filterWidth + kw) * outChannels);
          }
        }
      }
    }
  }
}

/**
 * Input gradient of a depthwise 2-D convolution (NHWC) on the wasm backend.
 *
 * @throws EngineError `E_KERNEL_DTYPE` for non-float32 inputs, `E_KERNEL_SHAPE` when dy does not match.
 */
export function depthwiseBackpropInputWasm(args: KernelArgs): tf.TensorInfo {
  const kernel = tf.DepthwiseConv2dNativeBackpropInput;
  const backend = args.backend as BackendWasm;
  const dy = input(args.inputs, 'dy', kernel);
  const filter = input(args.inputs, 'filter', kernel);
  const attrs = args.attrs as unknown as tf.DepthwiseConv2dNativeBackpropInputAttrs;
  checkFloat(kernel, dy, filter);
  const c = info(kernel, attrs.inputShape as Shape4, filter.shape as Shape4, attrs, dy);
  const route = simdRoute(backend, c);
  if (route !== undefined && depthwiseBackpropOptions.transposed) {
    const dx = viaDepthwiseConv(backend, dy, filter, c);
    if (dx !== undefined) return dx;
  }
  const dx = backend.makeOutput([...attrs.inputShape], 'float32');
  if (route !== undefined) {
    route.simd.depthwiseInputGradient(dy, filter, dx, route.g);
    return dx;
  }
  const out = heap(backend, dx);
  out.fill(0);
  const g = heap(backend, dy);
  const w = heap(backend, filter);
  const channels = c.inChannels;
  const multiplier = c.outChannels / c.inChannels;
  if (multiplier === 1) {
    forEachTap(c, (dyAt, xAt, tapAt) => {
      for (let ch = 0; ch < channels; ch++) out[xAt + ch] = out[xAt + ch]! + g[dyAt + ch]! * w[tapAt + ch]!;
    });
  } else {
    forEachTap(c, (dyAt, xAt, tapAt) => {
      for (let ch = 0; ch < channels; ch++) {
        let s = 0;
        for (let m = 0; m < multiplier; m++) s += g[dyAt + ch * multiplier + m]! * w[tapAt + ch * multiplier + m]!;
        out[xAt + ch] = out[xAt + ch]! + s;
      }
    });
  }
  return dx;
}

/**
 * A stride-1, undilated input gradient is the forward depthwise convolution of dy with the
 * filter spatially reversed, dy padded by (filter size - 1 - forward padding): the wasm
 * backend's own DepthwiseConv2dNative (XNNPACK, 3-5x faster than the scatter). `undefined`
 * for other strides and for paddings the transposed convolution would have to crop.
 */
function viaDepthwiseConv(backend: BackendWasm, dy: tf.TensorInfo, filter: tf.TensorInfo, c: tf.backend_util.Conv2DInfo) {
  const { filterHeight: kh, filterWidth: kw, inHeight, inWidth, outHeight, outWidth, inChannels } = c;
  if (c.strideHeight !== 1 || c.strideWidth !== 1 || c.dilationHeight !== 1 || c.dilationWidth !== 1) return undefined;
  const top = kh - 1 - c.padInfo.top;
  const left = kw - 1 - c.padInfo.left;
  const bottom = inHeight + kh - 1 - top - outHeight;
  const right = inWidth + kw - 1 - left - outWidth;
  if (Math.min(top, left, bottom, right) < 0) return undefined;
  const conv = wasmKernel(tf.DepthwiseConv2dNative, tf.DepthwiseConv2dNativeBackpropInput);
  const flipped = backend.makeOutput([kh, kw, inChannels, 1], 'float32');
  const wv = heap(backend, filter);
  const fv = heap(backend, flipped);
  for (let t = 0; t < kh * kw; t++) fv.set(wv.subarray(t * inChannels, (t + 1) * inChannels), (kh * kw - 1 - t) * inChannels);
  const pad: [[number, number], [number, number], [number, number], [number, number]] = [
    [0, 0],
    [top, bottom],
    [left, right],
    [0, 0],
  ];
  const attrs = { strides: [1, 1], pad, dataFormat: 'NHWC', dilations: [1, 1] };
  const dx = conv.kernelFunc({ inputs: { x: dy, filter: flipped }, backend, attrs }) as tf.TensorInfo;
  backend.disposeData(flipped.dataId);
  return dx;
}

/**
 * Filter gradient of a depthwise 2-D convolution (NHWC) on the wasm backend.
 *
 * @throws EngineError `E_KERNEL_DTYPE` for non-float32 inputs, `E_KERNEL_SHAPE` when dy does not match.
 */
export function depthwiseBackpropFilterWasm(args: KernelArgs): tf.TensorInfo {
  const kernel = tf.DepthwiseConv2dNativeBackpropFilter;
  const backend = args.backend as BackendWasm;
  const x = input(args.inputs, 'x', kernel);
  const dy = input(args.inputs, 'dy', kernel);
  const attrs = args.attrs as unknown as tf.DepthwiseConv2dNativeBackpropFilterAttrs;
  checkFloat(kernel, x, dy);
  const c = info(
    kernel,
    x.shape as Shape4,
    attrs.filterShape as Shape4,
    attrs as unknown as tf.DepthwiseConv2dNativeBackpropInputAttrs,
    dy,
  );
  const sums = new Float64Array(attrs.filterShape.reduce((a, b) => a * b, 1));
  const route = simdRoute(backend, c);
  if (route !== undefined) {
    const dw = backend.makeOutput([...attrs.filterShape], 'float32');
    const part = heap(backend, dw);
    for (let b = 0; b < c.batchSize; b++) {
      route.simd.depthwiseFilterGradient(x, dy, dw, route.g, b, b + 1);
      for (let i = 0; i < sums.length; i++) sums[i] = sums[i]! + part[i]!;
    }
    part.set(sums);
    return dw;
  }
  const xs = heap(backend, x);
  const g = heap(backend, dy);
  const channels = c.inChannels;
  const multiplier = c.outChannels / c.inChannels;
  forEachTap(c, (dyAt, xAt, tapAt) => {
    if (multiplier === 1) {
      for (let ch = 0; ch < channels; ch++) sums[tapAt + ch] = sums[tapAt + ch]! + xs[xAt + ch]! * g[dyAt + ch]!;
      return;
    }
    for (let ch = 0; ch < channels; ch++)
      for (let m = 0; m < multiplier; m++)
        sums[tapAt + ch * multiplier + m] = sums[tapAt + ch * multiplier + m]! + xs[xAt + ch]! * g[dyAt + ch * multiplier + m]!;
  });
  const dw = backend.makeOutput([...attrs.filterShape], 'float32');
  heap(backend, dw).set(sums);
  return dw;
}

function config(kernelName: string, kernelFunc: tf.KernelFunc, stock?: tf.KernelConfig): tf.KernelConfig {
  const c: tf.KernelConfig = { kernelName, backendName: 'wasm', kernelFunc };
  if (stock?.setupFunc !== undefined) c.setupFunc = stock.setupFunc;
  return c;
}

/** The DepthwiseConv2dNativeBackpropInput kernel config for 'wasm'. */
export function createDepthwiseBackpropInputKernel(stock?: tf.KernelConfig): tf.KernelConfig {
  return config(tf.DepthwiseConv2dNativeBackpropInput, depthwiseBackpropInputWasm as tf.KernelFunc, stock);
}

/** The DepthwiseConv2dNativeBackpropFilter kernel config for 'wasm'. */
export function createDepthwiseBackpropFilterKernel(stock?: tf.KernelConfig): tf.KernelConfig {
  return config(tf.DepthwiseConv2dNativeBackpropFilter, depthwiseBackpropFilterWasm as tf.KernelFunc, stock);
}

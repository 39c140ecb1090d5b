/**
 * Rampart's WebAssembly SIMD kernels (kernels.wat and its fragments), instantiated on the TF.js wasm
 * backend's own memory so they work on tensors in place, with no copies in or out.
 *
 * The module is compiled once per process and instantiated once per backend memory.
 * `simdKernels` returns `undefined` where it cannot run (no SIMD in this engine, a
 * backend that does not expose its memory, a shared-memory threaded build), and the JS
 * kernels then use their plain loops. `simdKernelOptions.enabled = false` forces those
 * loops, for benchmarks and tests that compare the two.
 */
import { setFlagsFromString } from 'node:v8';

import type * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

import { type ConvGeometry, heapOffset } from '../kernels/kernel-io.js';
import { SIMD_KERNELS_RELAXED_WASM_BASE64, SIMD_KERNELS_WASM_BASE64 } from './kernels-wasm.js';

/** The module's exports: byte offsets in the backend heap and sizes, as in the .wat sources. */
interface SimdExports {
  maxPoolGrad2x2(...args: number[]): void;
  conv2dBackpropInputC1(...args: number[]): void;
  conv2dBackpropFilterC1(...args: number[]): void;
  conv2dSparseScatter(...args: number[]): void;
  conv2dBackpropFilterDense(...args: number[]): void;
  channelMoments(...args: number[]): void;
  conv2dForwardDense(...args: number[]): void;
  col2imAdd(...args: number[]): void;
  batchNormAffine(...args: number[]): void;
  batchNormBackward(...args: number[]): void;
  countNonZero(ptr: number, n: number): number;
  depthwiseBackpropInput(...args: number[]): void;
  depthwiseBackpropFilter(...args: number[]): void;
}

/** A depthwise convolution's sizes (channel multiplier 1: outChannels === inChannels). */
export interface DepthwiseGeometry extends ConvGeometry {
  dilationHeight: number;
  dilationWidth: number;
}

/** A 2x2 / stride-2 / unpadded max pooling's sizes. */
export interface PoolGeometry {
  batchSize: number;
  inHeight: number;
  inWidth: number;
  channels: number;
  outHeight: number;
  outWidth: number;
}

/**
 * The SIMD kernels bound to one wasm backend: tensors in, float32 NHWC, results written
 * into the given output tensor. Preconditions are the callers' to check (see each).
 */
export interface SimdKernels {
  /** 2x2 / stride-2 / unpadded max-pool gradient; channels % 4 === 0. */
  maxPoolGrad2x2(x: tf.TensorInfo, dy: tf.TensorInfo, dx: tf.TensorInfo, g: PoolGeometry): void;
  /** Input gradient of a stride-1 convolution with few input channels (gathered per channel); outChannels % 4 === 0. */
  convInputGradientC1(dy: tf.TensorInfo, filter: tf.TensorInfo, dx: tf.TensorInfo, g: ConvGeometry): void;
  /** Filter gradient of a convolution with one input channel; outChannels % 4 === 0. */
  convFilterGradientC1(x: tf.TensorInfo, dy: tf.TensorInfo, dw: tf.TensorInfo, g: ConvGeometry): void;
  /**
   * Either gradient of a convolution from dy's non-zero entries only; inChannels % 4 === 0.
   * `target` 'input': `window` is dx (written), `taps` the filter as [Cout, KH, KW, Cin];
   * 'filter': `window` is x, `taps` the filter gradient as [Cout, KH, KW, Cin] (written).
   */
  convSparseScatter(target: 'input' | 'filter', dy: tf.TensorInfo, window: tf.TensorInfo, taps: tf.TensorInfo, g: ConvGeometry): void;
  /**
   * Filter gradient of a convolution, dense, any stride and padding, tiles of `tileRows`
   * output rows; inChannels % 4 === 0 and outChannels % 8 === 0. `dw` is [KH, KW, Cin, Cout].
   */
  convFilterGradientDense(x: tf.TensorInfo, dy: tf.TensorInfo, dw: tf.TensorInfo, g: ConvGeometry, tileRows: number): void;
  /**
   * A valid (unpadded: pad `x` first) convolution, any stride, no dilation; outWidth % 4 === 0
   * and outChannels % 8 === 0. `g` is the convolution's geometry with inHeight / inWidth
   * those of the padded `x` and zero padding.
   */
  convForwardDense(x: tf.TensorInfo, filter: tf.TensorInfo, y: tf.TensorInfo, g: ConvGeometry): void;
  /**
   * Adds the rows of `cols` (the (batch, output row) units [u0, u1), one [KH, KW, Cin] window
   * per output cell) onto `dx`, skipping padding; inChannels % 4 === 0.
   */
  col2imAdd(cols: tf.TensorInfo, dx: tf.TensorInfo, g: ConvGeometry, u0: number, u1: number): void;
  /**
   * Per-channel mean and biased variance of `x` as [cells, channels] (channels % 4 === 0),
   * summed in f64; `mean` and `variance` are [channels], written.
   */
  channelMoments(x: tf.TensorInfo, channels: number, mean: tf.TensorInfo, variance: tf.TensorInfo): void;
  /** y = (x - mean[c]) * scale[c] + offset[c] over [cells, channels], channels % 4 === 0. */
  batchNormAffine(
    x: tf.TensorInfo,
    y: tf.TensorInfo,
    channels: number,
    mean: tf.TensorInfo,
    scale: tf.TensorInfo,
    offset: tf.TensorInfo,
  ): void;
  /**
   * Training-mode batch norm gradient (through the batch statistics) over [cells, channels],
   * channels % 4 === 0: writes dx, dgamma and dbeta ([channels]) from x, dy and the
   * per-channel mean, rstd = 1 / sqrt(variance + epsilon) and gamma.
   */
  batchNormBackward(
    x: tf.TensorInfo,
    dy: tf.TensorInfo,
    dx: tf.TensorInfo,
    channels: number,
    stats: { mean: tf.TensorInfo; rstd: tf.TensorInfo; gamma: tf.TensorInfo },
    dgamma: tf.TensorInfo,
    dbeta: tf.TensorInfo,
  ): void;
  /** Input gradient of a depthwise convolution, multiplier 1, channels % 4 === 0; `dx` is written. */
  depthwiseInputGradient(dy: tf.TensorInfo, filter: tf.TensorInfo, dx: tf.TensorInfo, g: DepthwiseGeometry): void;
  /**
   * Filter gradient of a depthwise convolution, multiplier 1, channels % 4 === 0, summed in
   * f32 over the images [b0, b1) only; `dw` ([KH, KW, C, 1]) is written.
   */
  depthwiseFilterGradient(x: tf.TensorInfo, dy: tf.TensorInfo, dw: tf.TensorInfo, g: DepthwiseGeometry, b0: number, b1: number): void;
  /** True when at most `maxDensity` of `t`'s values are non-zero (NaN counts as non-zero). */
  sparse(t: tf.TensorInfo, maxDensity: number): boolean;
}

function bind(backend: BackendWasm, raw: SimdExports): SimdKernels {
  const at = (t: tf.TensorInfo) => heapOffset(backend, t);
  const size = (t: tf.TensorInfo) => t.shape.reduce((p, d) => p * d, 1);
  const conv = (g: ConvGeometry) =>
    [
      g.batchSize,
      g.inHeight,
      g.inWidth,
      g.inChannels,
      g.outHeight,
      g.outWidth,
      g.outChannels,
      g.filterHeight,
      g.filterWidth,
      g.strideHeight,
      g.strideWidth,
      g.padTop,
      g.padLeft,
    ] as const;
  const depthwise = (g: DepthwiseGeometry) =>
    [
      g.inHeight,
      g.inWidth,
      g.inChannels,
      g.outHeight,
      g.outWidth,
      g.filterHeight,
      g.filterWidth,
      g.strideHeight,
      g.strideWidth,
      g.dilationHeight,
      g.dilationWidth,
      g.padTop,
      g.padLeft,
    ] as const;
  return {
    maxPoolGrad2x2: (x, dy, dx, g) =>
      raw.maxPoolGrad2x2(at(x), at(dy), at(dx), g.batchSize, g.inHeight, g.inWidth, g.channels, g.outHeight, g.outWidth),
    convInputGradientC1: (dy, filter, dx, g) =>
      raw.conv2dBackpropInputC1(
        at(dy),
        at(filter),
        at(dx),
        g.batchSize,
        g.inHeight,
        g.inWidth,
        g.inChannels,
        g.outHeight,
        g.outWidth,
        g.outChannels,
        g.filterHeight,
        g.filterWidth,
        g.padTop,
        g.padLeft,
      ),
    convFilterGradientC1: (x, dy, dw, g) =>
      raw.conv2dBackpropFilterC1(
        at(x),
        at(dy),
        at(dw),
        g.batchSize,
        g.inHeight,
        g.inWidth,
        g.outHeight,
        g.outWidth,
        g.outChannels,
        g.filterHeight,
        g.filterWidth,
        g.strideHeight,
        g.strideWidth,
        g.padTop,
        g.padLeft,
      ),
    convSparseScatter: (target, dy, window, taps, g) =>
      raw.conv2dSparseScatter(target === 'filter' ? 1 : 0, at(dy), at(window), at(taps), ...conv(g)),
    convFilterGradientDense: (x, dy, dw, g, tileRows) => raw.conv2dBackpropFilterDense(at(x), at(dy), at(dw), ...conv(g), tileRows),
    convForwardDense: (x, filter, y, g) =>
      raw.conv2dForwardDense(
        at(x),
        at(filter),
        at(y),
        g.batchSize,
        g.inHeight,
        g.inWidth,
        g.inChannels,
        g.outHeight,
        g.outWidth,
        g.outChannels,
        g.filterHeight,
        g.filterWidth,
        g.strideHeight,
        g.strideWidth,
      ),
    col2imAdd: (cols, dx, g, u0, u1) =>
      raw.col2imAdd(
        at(cols),
        at(dx),
        g.inHeight,
        g.inWidth,
        g.inChannels,
        g.outHeight,
        g.outWidth,
        g.filterHeight,
        g.filterWidth,
        g.strideHeight,
        g.strideWidth,
        g.padTop,
        g.padLeft,
        u0,
        u1,
      ),
    channelMoments: (x, channels, mean, variance) => raw.channelMoments(at(x), size(x) / channels, channels, at(mean), at(variance)),
    batchNormAffine: (x, y, channels, mean, scale, offset) =>
      raw.batchNormAffine(at(x), at(y), size(x) / channels, channels, at(mean), at(scale), at(offset)),
    batchNormBackward: (x, dy, dx, channels, { mean, rstd, gamma }, dgamma, dbeta) =>
      raw.batchNormBackward(at(x), at(dy), at(dx), size(x) / channels, channels, at(mean), at(rstd), at(gamma), at(dgamma), at(dbeta)),
    depthwiseInputGradient: (dy, filter, dx, g) => raw.depthwiseBackpropInput(at(dy), at(filter), at(dx), g.batchSize, ...depthwise(g)),
    depthwiseFilterGradient: (x, dy, dw, g, b0, b1) => raw.depthwiseBackpropFilter(at(x), at(dy), at(dw), b0, b1, ...depthwise(g)),
    sparse: (t, maxDensity) => {
      const n = t.shape.reduce((p, d) => p * d, 1);
      return raw.countNonZero(at(t), n) <= maxDensity * n;
    },
  };
}

/**
 * Switches for benchmarks and tests. `enabled: false` makes `simdKernels` return undefined;
 * `relaxed: false` keeps the plain SIMD module where the engine would accept the relaxed
 * SIMD one (fused multiply-add in the conv kernels' inner loops). `RAMPART_SIMD=plain` sets
 * it for a process: relaxed multiply-adds are fused only on CPUs with FMA, so queue workers
 * on a mix of CPUs agree bit for bit only on the plain module.
 */
export const simdKernelOptions = { enabled: true, relaxed: process.env['RAMPART_SIMD'] !== 'plain' };

/**
 * The slice of the WebAssembly JS API used here. The project's type libraries (ES2022 +
 * @types/node) do not declare the WebAssembly namespace, though Node has it.
 */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { exports: unknown };
  Memory: abstract new (...args: never[]) => WasmMemory;
}
const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

type Variant = 'plain' | 'relaxed';
const compiled: Partial<Record<Variant, object | null>> = {};
const instances = { plain: new WeakMap<WasmMemory, SimdExports | null>(), relaxed: new WeakMap<WasmMemory, SimdExports | null>() };
const bound = { plain: new WeakMap<BackendWasm, SimdKernels>(), relaxed: new WeakMap<BackendWasm, SimdKernels>() };

function compile(variant: Variant): object | null {
  if (compiled[variant] === undefined) {
    if (variant === 'relaxed') {
      // Node 20's V8 has relaxed SIMD behind a flag (on by default from V8 11.4 / Node 22);
      // it applies to modules compiled after it is set, in every thread of the process.
      try {
        setFlagsFromString('--experimental-wasm-relaxed-simd');
      } catch {
        // an engine without the flag: the compile below fails and the plain module is used
      }
    }
    try {
      compiled[variant] = new wasmApi.Module(
        Buffer.from(variant === 'relaxed' ? SIMD_KERNELS_RELAXED_WASM_BASE64 : SIMD_KERNELS_WASM_BASE64, 'base64'),
      );
    } catch {
      compiled[variant] = null; // an engine without wasm SIMD (or relaxed SIMD)
    }
  }
  return compiled[variant]!;
}

/** The module variant `simdKernels` uses now: relaxed where asked for and the engine compiles it. */
export function simdKernelsVariant(): Variant | undefined {
  if (simdKernelOptions.relaxed && compile('relaxed') !== null) return 'relaxed';
  return compile('plain') === null ? undefined : 'plain';
}

function backendMemory(backend: BackendWasm): WasmMemory | undefined {
  const wasm = backend.wasm as unknown as { asm?: { memory?: unknown }; wasmMemory?: unknown };
  const memory = wasm.asm?.memory ?? wasm.wasmMemory;
  return memory instanceof wasmApi.Memory ? memory : undefined;
}

/**
 * The SIMD kernels bound to `backend`'s heap, or `undefined` when they cannot run here.
 *
 * @example
 * const simd = simdKernels(backend);
 * if (simd) simd.maxPoolGrad2x2(x, dy, dx, geometry);
 */
export function simdKernels(backend: BackendWasm): SimdKernels | undefined {
  if (!simdKernelOptions.enabled) return undefined;
  const memory = backendMemory(backend);
  if (memory === undefined) return undefined;
  const variant = simdKernelsVariant();
  if (variant === undefined) return undefined;
  let raw = instances[variant].get(memory);
  if (raw === undefined) {
    const module = compile(variant);
    raw = null;
    if (module !== null) {
      try {
        raw = new wasmApi.Instance(module, { env: { memory } }).exports as SimdExports;
      } catch {
        raw = null; // e.g. a shared (threaded) memory, which this module does not import
      }
    }
    instances[variant].set(memory, raw);
  }
  if (raw === null) return undefined;
  let kernels = bound[variant].get(backend);
  if (kernels === undefined) {
    kernels = bind(backend, raw);
    bound[variant].set(backend, kernels);
  }
  return kernels;
}

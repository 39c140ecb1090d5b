/**
 * Rampart's WebAssembly SIMD kernels (kernels.wat), instantiated on the TF.js wasm
 * backend's own memory so they work on tensors in place, with no copies in or out.
 *
 * The module is compiled once per process and instantiated once per backend memory.
 * `simdKernels` returns `undefined` where it cannot run (no SIMD in this engine, a
 * backend that does not expose its memory, a shared-memory threaded build), and the JS
 * kernels then use their plain loops. `simdKernelOptions.enabled = false` forces those
 * loops, for benchmarks and tests that compare the two.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

import { SIMD_KERNELS_WASM_BASE64 } from './kernels-wasm.js';

export interface SimdKernels {
  /**
   * 2x2 / stride-2 / unpadded max-pool gradient, NHWC float32, channels % 4 === 0; all
   * pointers are byte offsets in the backend heap. See kernels.wat.
   */
  maxPoolGrad2x2(x: number, dy: number, dx: number, batch: number, height: number, width: number, channels: number, outHeight: number, outWidth: number): void;
  /**
   * Input gradient of a stride-1 convolution with one input channel, NHWC float32,
   * outChannels % 4 === 0, any padding. See kernels.wat.
   */
  conv2dBackpropInputC1(
    dy: number,
    filter: number,
    dx: number,
    batch: number,
    height: number,
    width: number,
    outHeight: number,
    outWidth: number,
    outChannels: number,
    filterHeight: number,
    filterWidth: number,
    padTop: number,
    padLeft: number,
  ): void;
  /**
   * Filter gradient of a convolution with one input channel, NHWC float32,
   * outChannels % 4 === 0, any stride and padding. Zeroes dw first. See kernels.wat.
   */
  conv2dBackpropFilterC1(
    x: number,
    dy: number,
    dw: number,
    batch: number,
    height: number,
    width: number,
    outHeight: number,
    outWidth: number,
    outChannels: number,
    filterHeight: number,
    filterWidth: number,
    strideHeight: number,
    strideWidth: number,
    padTop: number,
    padLeft: number,
  ): void;
  /** Non-zero floats among `n` at `ptr` (NaN counts). */
  countNonZero(ptr: number, n: number): number;
  /**
   * Either gradient of a convolution (toFilter 0: the input's, 1: the filter's) from dy's
   * non-zero entries only, NHWC float32, inChannels % 4 === 0, any stride and padding;
   * `taps` is the filter (or its gradient) transposed to [outChannels, KH, KW, inChannels].
   * Zeroes its target first. See kernels.wat.
   */
  conv2dSparseScatter(
    toFilter: 0 | 1,
    dy: number,
    window: number,
    taps: number,
    batch: number,
    height: number,
    width: number,
    inChannels: number,
    outHeight: number,
    outWidth: number,
    outChannels: number,
    filterHeight: number,
    filterWidth: number,
    strideHeight: number,
    strideWidth: number,
    padTop: number,
    padLeft: number,
  ): void;
}

/** Switch for benchmarks and tests: false makes `simdKernels` return undefined. */
export const simdKernelOptions = { enabled: true };

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

let compiled: object | null | undefined;
const instances = new WeakMap<WasmMemory, SimdKernels | null>();

function compile(): object | null {
  if (compiled === undefined) {
    try {
      compiled = new wasmApi.Module(Buffer.from(SIMD_KERNELS_WASM_BASE64, 'base64'));
    } catch {
      compiled = null; // an engine without wasm SIMD
    }
  }
  return compiled;
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
 * if (simd) simd.maxPoolGrad2x2(heapOffset(backend, x), heapOffset(backend, dy), heapOffset(backend, dx), ...dims);
 */
export function simdKernels(backend: BackendWasm): SimdKernels | undefined {
  if (!simdKernelOptions.enabled) return undefined;
  const memory = backendMemory(backend);
  if (memory === undefined) return undefined;
  let kernels = instances.get(memory);
  if (kernels === undefined) {
    const module = compile();
    kernels = null;
    if (module !== null) {
      try {
        kernels = new wasmApi.Instance(module, { env: { memory } }).exports as SimdKernels;
      } catch {
        kernels = null; // e.g. a shared (threaded) memory, which this module does not import
      }
    }
    instances.set(memory, kernels);
  }
  return kernels ?? undefined;
}

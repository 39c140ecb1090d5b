/** Small helpers every Rampart wasm kernel needs: typed inputs, views into the wasm heap, geometry. */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { EngineError } from '../../core/errors.js';

export type KernelArgs = Parameters<tf.KernelFunc>[0];

/** A named kernel input, or a typed error naming the kernel and the missing input. */
export function input(inputs: tf.NamedTensorInfoMap, name: string, kernel: string): tf.TensorInfo {
  const t = inputs[name];
  if (t === undefined) {
    throw new EngineError('E_KERNEL_INPUT', `${kernel}: input '${name}' is missing.`, { details: { kernel, input: name } });
  }
  return t;
}

/**
 * The wasm backend's own kernel `name`, which kernel `needer` builds on.
 *
 * @throws EngineError `E_KERNEL_MISSING` when it is not registered.
 */
export function wasmKernel(name: string, needer: string): tf.KernelConfig {
  const k = tf.getKernel(name, 'wasm');
  if (k === undefined) {
    throw new EngineError('E_KERNEL_MISSING', `${needer} needs the wasm backend's ${name} kernel, which is not registered.`, {
      details: { kernel: needer, needs: name },
    });
  }
  return k;
}

/**
 * A float32 view of a tensor's data in the wasm heap. Views detach when the heap grows,
 * so take them again after every allocation.
 */
export function heap(backend: BackendWasm, t: tf.TensorInfo): Float32Array {
  return backend.typedArrayFromHeap(t) as Float32Array;
}

/** The byte offset of a tensor's data in the wasm heap, for the SIMD kernels. */
export function heapOffset(backend: BackendWasm, t: tf.TensorInfo): number {
  return (backend.dataIdMap.get(t.dataId) as { memoryOffset: number }).memoryOffset;
}

/** A 2-D NHWC convolution's sizes, as its gradient kernels use them. */
export interface ConvGeometry {
  batchSize: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outHeight: number;
  outWidth: number;
  outChannels: number;
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  padTop: number;
  padLeft: number;
}

/** A channels-last, undilated convolution's info (what every dense conv kernel here takes). */
export function channelsLastConvInfo(
  xShape: readonly number[],
  filterShape: readonly number[],
  strides: tf.Conv2DAttrs['strides'],
  pad: tf.Conv2DAttrs['pad'],
  dimRoundingMode: tf.Conv2DAttrs['dimRoundingMode'],
): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    'channelsLast',
  );
}

/** The geometry of `tf.backend_util.computeConv2DInfo`'s result. */
export function convGeometry(info: tf.backend_util.Conv2DInfo): ConvGeometry {
  const {
    batchSize,
    inHeight,
    inWidth,
    inChannels,
    outHeight,
    outWidth,
    outChannels,
    filterHeight,
    filterWidth,
    strideHeight,
    strideWidth,
  } = info;
  return {
    batchSize,
    inHeight,
    inWidth,
    inChannels,
    outHeight,
    outWidth,
    outChannels,
    filterHeight,
    filterWidth,
    strideHeight,
    strideWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  };
}

/**
 * `t` with its axes permuted, by the wasm backend's own Transpose kernel (a fresh tensor
 * the caller disposes).
 *
 * @throws EngineError `E_KERNEL_MISSING` when the Transpose kernel is not registered.
 */
export function transposed(backend: BackendWasm, t: tf.TensorInfo, perm: number[], needer: string): tf.TensorInfo {
  const out = wasmKernel(tf.Transpose, needer).kernelFunc({ inputs: { x: t }, backend, attrs: { perm } });
  return Array.isArray(out) ? out[0]! : out;
}

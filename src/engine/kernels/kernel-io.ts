/** Small helpers every Rampart wasm kernel needs: typed inputs and views into the wasm heap. */
import type * as tf from '@tensorflow/tfjs';
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

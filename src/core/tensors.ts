/** Moving examples between flat typed arrays and TF.js tensors. */
import * as tf from '@tensorflow/tfjs';
import type { Dataset } from './types.js';
import { sizeOf } from './types.js';

/** A `[count, ...shape]` tensor of rows `[start, end)` of a dataset; the caller disposes it. */
export function batchTensor(ds: Dataset, start: number, end: number): tf.Tensor {
  const row = sizeOf(ds.shape);
  return tf.tensor(ds.x.subarray(start * row, end * row), [end - start, ...ds.shape], 'float32');
}

/** The given rows of a dataset, row-major in one new array (what a worker pool takes). */
export function gatherRowValues(ds: Dataset, rows: readonly number[]): Float32Array {
  const row = sizeOf(ds.shape);
  const out = new Float32Array(rows.length * row);
  rows.forEach((r, k) => out.set(ds.x.subarray(r * row, (r + 1) * row), k * row));
  return out;
}

/** A `[count, ...shape]` tensor of the given rows of a dataset; the caller disposes it. */
export function gatherRows(ds: Dataset, rows: readonly number[]): tf.Tensor {
  return tf.tensor(gatherRowValues(ds, rows), [rows.length, ...ds.shape], 'float32');
}

/** Splits `[0, count)` into consecutive `[start, end)` ranges of at most `size`. */
export function* ranges(count: number, size: number): Generator<[number, number]> {
  for (let start = 0; start < count; start += size) yield [start, Math.min(count, start + size)];
}

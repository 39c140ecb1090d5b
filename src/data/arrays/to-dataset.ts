/** Turning a pair of NumPy arrays (examples, labels) into a {@link Dataset}. */
import { DataError, InputError } from '../../core/errors.js';
import type { Bounds, Dataset } from '../../core/types.js';
import type { NpyArray } from './npy.js';

/** Options shared by the NPY and NPZ loaders. */
export interface ArrayDatasetOptions {
  /** `true` divides every value by 255 (uint8 pixels to [0, 1]); a number divides by it. */
  readonly scale?: boolean | number;
  /** Number of classes; default the largest label + 1. */
  readonly numClasses?: number;
  /** Declared range of the (scaled) features; default [0, 1] when scaled or when every value lies in it, else the data's range. */
  readonly bounds?: Bounds;
  readonly name?: string;
}

/**
 * Builds a data set from an examples array `[count, ...shape]` and a labels array
 * `[count]` (or `[count, 1]`).
 *
 * @param names - The files (or NPZ members) the arrays came from, for messages.
 * @throws {DataError} `E_NPY_SHAPE` if the examples have fewer than 2 dimensions, the
 *   labels are not one per example (one-hot labels included) or the counts differ.
 * @throws {InputError} `E_LABEL_VALUE` for a negative or fractional label;
 *   `E_LABEL_RANGE` for a label not below `numClasses`; `E_NON_FINITE` for a NaN or
 *   infinite feature.
 * @example
 * const ds = arraysToDataset(parseNpy(xBytes, 'x.npy'), parseNpy(yBytes, 'y.npy'), { x: 'x.npy', y: 'y.npy' }, { scale: true });
 */
export function arraysToDataset(x: NpyArray, y: NpyArray, names: { x: string; y: string }, options: ArrayDatasetOptions): Dataset {
  const [count = 0, ...shape] = x.shape;
  if (x.shape.length < 2 || count === 0 || shape.some((d) => d === 0)) {
    throw new DataError(
      'E_NPY_SHAPE',
      `Examples array ${names.x} has shape (${x.shape.join(', ')}); it must be (count, ...example shape) with non-zero sizes (at least one example), e.g. (N, 28, 28, 1) or (N, features); reshape it with a.reshape(len(a), -1).`,
      { details: { path: names.x, shape: x.shape } },
    );
  }
  const labelsOk = y.shape.length === 1 || (y.shape.length === 2 && y.shape[1] === 1);
  if (!labelsOk || y.shape[0] !== count) {
    const oneHot = y.shape.length === 2 && (y.shape[1] ?? 0) > 1;
    throw new DataError(
      'E_NPY_SHAPE',
      `Labels array ${names.y} has shape (${y.shape.join(', ')}) but ${names.x} holds ${count} examples; labels must be (${count},) class indices${oneHot ? ' (these look one-hot: save y.argmax(axis=1))' : ''}.`,
      { details: { path: names.y, shape: y.shape, count } },
    );
  }
  const labels = toLabels(y, names.y);
  const maxLabel = labels.reduce((m, v) => Math.max(m, v), -1);
  const numClasses = options.numClasses ?? maxLabel + 1;
  if (maxLabel >= numClasses) {
    const index = labels.findIndex((v) => v >= numClasses);
    throw new InputError(
      'E_LABEL_RANGE',
      `Label ${labels[index]} at index ${index} of ${names.y} is outside [0, ${numClasses}); raise numClasses or fix the labels.`,
      { details: { path: names.y, index, value: labels[index], numClasses } },
    );
  }
  const { values, bounds } = toFeatures(x, names.x, options);
  return { name: options.name ?? names.x, shape, x: values, y: labels, numClasses: Math.max(numClasses, 1), bounds, count };
}

function toLabels(y: NpyArray, name: string): Int32Array {
  const labels = new Int32Array(y.data.length);
  for (let i = 0; i < labels.length; i++) {
    const raw = y.data[i] as number | bigint;
    const value = typeof raw === 'bigint' ? Number(raw) : raw;
    if (!Number.isInteger(value) || value < 0 || value > 0x7fffffff) {
      throw new InputError(
        'E_LABEL_VALUE',
        `Label ${String(raw)} at index ${i} of ${name} is not a class index (a whole number >= 0); save integer class labels.`,
        { details: { path: name, index: i, value: String(raw) } },
      );
    }
    labels[i] = value;
  }
  return labels;
}

function toFeatures(x: NpyArray, name: string, options: ArrayDatasetOptions): { values: Float32Array; bounds: Bounds } {
  const divisor = options.scale === true ? 255 : typeof options.scale === 'number' ? options.scale : 1;
  const values = new Float32Array(x.data.length);
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const raw = x.data[i] as number | bigint;
    const value = (typeof raw === 'bigint' ? Number(raw) : raw) / divisor;
    if (!Number.isFinite(value)) {
      throw new InputError('E_NON_FINITE', `Value ${String(raw)} at flat index ${i} of ${name} is not finite; clean the array first.`, {
        details: { path: name, index: i, value: String(raw) },
      });
    }
    values[i] = value;
    if (value < min) min = value;
    if (value > max) max = value;
  }
  return { values, bounds: options.bounds ?? defaultBounds(x, options, min, max) };
}

// Pixels are the common case: [0, 1] once scaled (or already in it), [0, 255] as raw uint8.
function defaultBounds(x: NpyArray, options: ArrayDatasetOptions, min: number, max: number): Bounds {
  if (options.scale === true || (min >= 0 && max <= 1)) return { min: 0, max: 1 };
  if (x.dtype === '|u1' && options.scale === undefined) return { min: 0, max: 255 };
  return Number.isFinite(min) ? { min, max } : { min: 0, max: 1 };
}

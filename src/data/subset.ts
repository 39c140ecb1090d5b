/** Picking examples out of a data set by index, copying so the result owns its memory. */
import { InputError, UsageError } from '../core/errors.js';
import { sizeOf, type Dataset } from '../core/types.js';

/**
 * A new data set holding the examples at `indices`, in that order. Features and labels
 * are copied, so writing into the subset never changes the source.
 *
 * @param ds - Source data set.
 * @param indices - Example indices in `[0, ds.count)`; repeats are allowed.
 * @param name - Name of the result; defaults to `${ds.name}/subset`.
 * @throws {InputError} `E_INDEX_RANGE` if an index is not an integer in `[0, ds.count)`.
 * @example
 * const firstAndLast = subset(ds, [0, ds.count - 1], `${ds.name}/ends`);
 */
export function subset(ds: Dataset, indices: ArrayLike<number>, name = `${ds.name}/subset`): Dataset {
  const size = sizeOf(ds.shape);
  const x = new Float32Array(indices.length * size);
  const y = new Int32Array(indices.length);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k] as number;
    if (!Number.isInteger(i) || i < 0 || i >= ds.count) {
      throw new InputError('E_INDEX_RANGE', `subset of '${ds.name}': index ${i} at position ${k} is outside [0, ${ds.count}).`, {
        details: { dataset: ds.name, position: k, index: i, count: ds.count },
      });
    }
    x.set(ds.x.subarray(i * size, (i + 1) * size), k * size);
    y[k] = ds.y[i] as number;
  }
  return { ...metadataOf(ds), name, shape: [...ds.shape], x, y, numClasses: ds.numClasses, bounds: ds.bounds, count: indices.length };
}

/** The optional descriptive fields a part of a data set keeps from its source (class and feature names, provenance). */
export function metadataOf(ds: Dataset): Pick<Dataset, 'classNames' | 'featureNames' | 'featureBounds' | 'provenance'> {
  return {
    ...(ds.classNames === undefined ? {} : { classNames: ds.classNames }),
    ...(ds.featureNames === undefined ? {} : { featureNames: ds.featureNames }),
    ...(ds.featureBounds === undefined ? {} : { featureBounds: ds.featureBounds }),
    ...(ds.provenance === undefined ? {} : { provenance: ds.provenance }),
  };
}

/**
 * The first `n` examples of a data set (all of them if it has fewer), copied. Handy for
 * quick evaluations on a split, whose order is already shuffled; on a class-sorted
 * source such as the bundled MNIST the first examples are all one digit.
 *
 * @throws {UsageError} `E_TAKE_COUNT` if `n` is not a non-negative integer.
 * @example
 * const quick = takeFirst(splits.test, 500);
 */
export function takeFirst(ds: Dataset, n: number): Dataset {
  if (!Number.isInteger(n) || n < 0) {
    throw new UsageError('E_TAKE_COUNT', `takeFirst: n must be a non-negative integer, got ${n}.`, { details: { n } });
  }
  const k = Math.min(n, ds.count);
  const size = sizeOf(ds.shape);
  return {
    ...metadataOf(ds),
    name: `${ds.name}/first-${k}`,
    shape: [...ds.shape],
    x: ds.x.slice(0, k * size),
    y: ds.y.slice(0, k),
    numClasses: ds.numClasses,
    bounds: ds.bounds,
    count: k,
  };
}

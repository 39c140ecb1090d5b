/** Shared value types that cross module boundaries. Plain data, no tensors. */

/** Valid range of every input feature, e.g. pixel intensities in [0, 1]. */
export interface Bounds {
  readonly min: number;
  readonly max: number;
}

/**
 * A labelled set of fixed-shape examples held as flat typed arrays, so it can be hashed,
 * split, saved and handed to a worker without touching TF.js.
 */
export interface Dataset {
  /** Stable name, e.g. `mnist-bundled/train`. */
  readonly name: string;
  /** Per-example shape, e.g. `[28, 28, 1]` (height, width, channels). */
  readonly shape: readonly number[];
  /** Row-major features, `count * product(shape)` values. */
  readonly x: Float32Array;
  /** Integer class labels, `count` values in `[0, numClasses)`. */
  readonly y: Int32Array;
  readonly numClasses: number;
  readonly bounds: Bounds;
  readonly count: number;
}

/** The product of a shape's dimensions. */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

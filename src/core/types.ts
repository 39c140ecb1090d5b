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
  /** Name of each class, index = label (image folder names, CSV label names); absent when labels are bare integers. */
  readonly classNames?: readonly string[];
  /** Name of each feature of a flat example (CSV column names); absent for images. */
  readonly featureNames?: readonly string[];
  /** Range of each feature of a flat example, as declared or as seen in the data (tabular data). */
  readonly featureBounds?: readonly Bounds[];
  /** Where the examples came from: the source as written and the digests of the files read. */
  readonly provenance?: DataProvenance;
}

/** One file (or folder of files) a data set was read from, by content. */
export interface SourceDigest {
  /** Path as given (a folder for an image folder). */
  readonly path: string;
  /** sha256 (hex) of the file's bytes; for a folder, of its manifest of relative paths and file digests. */
  readonly sha256: string;
  /** Bytes read (the sum over a folder's files). */
  readonly bytes: number;
  /** Number of files, for a folder. */
  readonly files?: number;
}

/** The source of a loaded data set, recorded so a run can say exactly which files it used. */
export interface DataProvenance {
  /** The source spec in its string form, e.g. `csv:data/iris.csv`. */
  readonly source: string;
  readonly digests: readonly SourceDigest[];
}

/** The product of a shape's dimensions. */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** The data layer: loaders, splits, batches, validation and content hashes. */
import { UsageError } from '../core/errors.js';
import type { Dataset } from '../core/types.js';
import { loadIdxDataset } from './idx.js';
import { loadBundledMnist } from './mnist-bundled.js';

export { loadBundledMnist } from './mnist-bundled.js';
export { IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, loadIdxDataset, readIdx, type IdxDatasetOptions, type IdxFile } from './idx.js';
export { splitDataset, type DatasetSplits, type SplitFractions, type SplitOptions } from './split.js';
export { subset, takeFirst } from './subset.js';
export { batches, type BatchOptions, type DataBatch } from './batches.js';
export { hashDataset } from './hash.js';
export { validateDataset } from './validate.js';

/** Which data to load: a named bundled set, or a pair of IDX files on disk. */
export type DatasetSpec =
  | 'mnist'
  | { readonly kind: 'idx'; readonly images: string; readonly labels: string; readonly name?: string; readonly numClasses?: number };

const VALID_SPECS = ["'mnist'", "{ kind: 'idx', images, labels }"] as const;

/**
 * Loads a data set from a spec as written in a plan or on the command line: `'mnist'`
 * for the 10,000 bundled digits, `{ kind: 'idx', images, labels }` for IDX files.
 *
 * @throws {UsageError} `E_UNKNOWN_DATASET` for any other spec, listing the valid ones;
 *   `E_DATASET_SPEC` for `{ kind: 'idx' }` without string `images` and `labels` paths.
 * @throws {DataError} Whatever the chosen loader throws (missing or corrupt files).
 * @example
 * const bundled = loadDataset('mnist');
 * const full = loadDataset({ kind: 'idx', images: 'data/train-images-idx3-ubyte.gz', labels: 'data/train-labels-idx1-ubyte.gz' });
 */
export function loadDataset(spec: DatasetSpec): Dataset {
  if (spec === 'mnist') return loadBundledMnist();
  // Specs come from YAML and CLI flags too, so check the object form at runtime.
  const candidate = spec as { kind?: unknown; images?: unknown; labels?: unknown } | null;
  if (typeof candidate === 'object' && candidate !== null && candidate.kind === 'idx') {
    if (typeof candidate.images !== 'string' || typeof candidate.labels !== 'string') {
      throw new UsageError('E_DATASET_SPEC', `Data set { kind: 'idx' } needs string paths 'images' and 'labels', got ${describe(spec)}.`, {
        details: { spec },
      });
    }
    return loadIdxDataset(spec as Extract<DatasetSpec, { kind: 'idx' }>);
  }
  throw new UsageError('E_UNKNOWN_DATASET', `Unknown data set ${describe(spec)}; valid choices are ${VALID_SPECS.join(' or ')}.`, {
    details: { spec, choices: VALID_SPECS },
  });
}

function describe(spec: unknown): string {
  return typeof spec === 'string' ? `'${spec}'` : (JSON.stringify(spec) ?? String(spec));
}

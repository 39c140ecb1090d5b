/**
 * The tabular channel's data until the data layer's CSV source is wired in: a CSV file with
 * a header row, numeric feature columns and a label column, read into a `Dataset` of shape
 * `[features]` whose bounds are the smallest and largest feature value (the box attacks stay
 * in). Integer labels are class indexes; other labels become classes in sorted order.
 */
import { readFileSync, statSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { DataError } from '../core/errors.js';
import type { Dataset } from '../core/types.js';

const MAX_BYTES = 64 * 1024 * 1024;
const MAX_ROWS = 1_000_000;
const MAX_COLUMNS = 4096;

export interface TabularData {
  dataset: Dataset;
  features: string[];
  classes: string[];
}

/**
 * Reads `path` (a CSV) with `labelColumn` as the label.
 *
 * @throws DataError `E_DATA_MISSING` when unreadable; `E_DATA_FORMAT` naming the row and column of a bad value, a missing
 *   label column, or a file over the size, row or column budget.
 * @example const { dataset, features } = loadTabularCsv('fixtures/credit.csv', 'label');
 */
export function loadTabularCsv(path: string, labelColumn = 'label'): TabularData {
  let text: string;
  try {
    const size = statSync(path).size;
    if (size > MAX_BYTES)
      throw new DataError('E_DATA_FORMAT', `${path} is ${size} bytes, over the ${MAX_BYTES}-byte limit of a CSV data set.`);
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if (error instanceof DataError) throw error;
    throw new DataError('E_DATA_MISSING', `Cannot read the CSV data ${path}: ${(error as Error).message}. Check tabular.dataset.`, {
      cause: error,
      details: { path },
    });
  }
  const bad = (message: string): DataError => new DataError('E_DATA_FORMAT', `${path}: ${message}`, { details: { path } });
  let rows: string[][];
  try {
    rows = parse(text, { skip_empty_lines: true, trim: true, to: MAX_ROWS + 2 }) as string[][];
  } catch (error) {
    throw new DataError('E_DATA_FORMAT', `${path} is not valid CSV: ${(error as Error).message}.`, { cause: error, details: { path } });
  }
  const header = rows[0];
  if (!header || rows.length < 2) throw bad('needs a header row and at least one data row.');
  if (rows.length > MAX_ROWS + 1) throw bad(`has more than ${MAX_ROWS} rows; use a sample.`);
  if (header.length > MAX_COLUMNS) throw bad(`has ${header.length} columns, more than ${MAX_COLUMNS}.`);
  const labelAt = header.indexOf(labelColumn);
  if (labelAt < 0) throw bad(`has no label column '${labelColumn}' (columns: ${header.join(', ')}); set tabular.labelColumn.`);
  const features = header.filter((_, i) => i !== labelAt);
  if (features.length === 0) throw bad('has no feature columns besides the label.');
  const count = rows.length - 1;
  const x = new Float32Array(count * features.length);
  const rawLabels: string[] = [];
  let min = Infinity;
  let max = -Infinity;
  for (let r = 0; r < count; r++) {
    const row = rows[r + 1] as string[];
    if (row.length !== header.length) throw bad(`row ${r + 2} has ${row.length} fields; the header has ${header.length}.`);
    let k = 0;
    for (let c = 0; c < row.length; c++) {
      const cell = row[c] as string;
      if (c === labelAt) {
        rawLabels.push(cell);
        continue;
      }
      const value = cell === '' ? NaN : Number(cell);
      if (!Number.isFinite(value)) throw bad(`row ${r + 2}, column '${header[c]}': '${cell}' is not a number; features must be numeric.`);
      x[r * features.length + k++] = value;
      if (value < min) min = value;
      if (value > max) max = value;
    }
  }
  const integers = rawLabels.every((l) => /^\d+$/.test(l));
  const classes = integers
    ? Array.from({ length: Math.max(...rawLabels.map(Number)) + 1 }, (_, i) => String(i))
    : [...new Set(rawLabels)].sort();
  if (classes.length < 2) throw bad(`the label column '${labelColumn}' has fewer than two classes.`);
  const y = Int32Array.from(rawLabels, (l) => (integers ? Number(l) : classes.indexOf(l)));
  // A constant feature set still needs a box with some width for the threat's bounds.
  const bounds = min < max ? { min, max } : { min: min - 1, max: max + 1 };
  const name = `csv:${path}`;
  return { dataset: { name, shape: [features.length], x, y, numClasses: classes.length, bounds, count }, features, classes };
}

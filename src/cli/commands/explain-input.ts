/**
 * Reading the one input `rampart explain` explains: a PNG (decoded with pngjs, scaled from
 * 0–255 to the model's bounds) or one row of a `.npy` array (float32/float64/uint8/int32,
 * little-endian, C order). Sizes are checked against the model before any pixel is read.
 */
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname } from 'node:path';
import { DataError, InputError, UsageError } from '../../core/errors.js';
import type { Bounds } from '../../core/types.js';

/** Largest input file read (64 MiB): an explanation is of one example. */
const MAX_INPUT_BYTES = 64 * 1024 * 1024;

interface PngImage {
  width: number;
  height: number;
  /** RGBA, 4 bytes per pixel. */
  data: Buffer;
}

interface PngModule {
  PNG: { sync: { read(buffer: Buffer): PngImage; write(png: { width: number; height: number; data: Buffer }): Buffer } };
}

/** pngjs, loaded once; it ships CommonJS without types. */
export function pngjs(): PngModule {
  return createRequire(import.meta.url)('pngjs') as PngModule;
}

function readBounded(path: string): Buffer {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (cause) {
    throw new DataError('E_INPUT_FILE', `Cannot read the input file ${path}; check the path.`, { cause, details: { path } });
  }
  if (size > MAX_INPUT_BYTES)
    throw new InputError(
      'E_INPUT_FILE',
      `The input file ${path} is ${size} bytes, above the ${MAX_INPUT_BYTES}-byte limit; explain one example at a time.`,
      {
        details: { path, size },
      },
    );
  return readFileSync(path);
}

function fromPng(path: string, shape: readonly number[], bounds: Bounds): Float32Array {
  let image: PngImage;
  try {
    image = pngjs().PNG.sync.read(readBounded(path));
  } catch (cause) {
    if (cause instanceof InputError || cause instanceof DataError) throw cause;
    throw new DataError('E_INPUT_FILE', `${path} is not a readable PNG; export the image as PNG or give a .npy row.`, {
      cause,
      details: { path },
    });
  }
  const [h, w, c = 1] = shape;
  if (shape.length !== 3 || image.height !== h || image.width !== w || (c !== 1 && c !== 3))
    throw new InputError(
      'E_INPUT_SHAPE',
      `${path} is ${image.width}×${image.height} but the model takes [${shape.join(', ')}]; resize the image to ${String(w)}×${String(h)} (1 or 3 channels).`,
      { details: { path, width: image.width, height: image.height, expected: [...shape] } },
    );
  const out = new Float32Array(h * w * c);
  const scale = (v: number): number => bounds.min + (v / 255) * (bounds.max - bounds.min);
  for (let p = 0; p < h * w; p++) {
    const [r, g, b] = [image.data[p * 4] as number, image.data[p * 4 + 1] as number, image.data[p * 4 + 2] as number];
    if (c === 1) out[p] = scale(0.299 * r + 0.587 * g + 0.114 * b);
    else out.set([scale(r), scale(g), scale(b)], p * 3);
  }
  return out;
}

const NPY_DTYPES: Record<string, { bytes: number; read: (view: DataView, offset: number) => number; pixels: boolean }> = {
  '<f4': { bytes: 4, read: (v, o) => v.getFloat32(o, true), pixels: false },
  '<f8': { bytes: 8, read: (v, o) => v.getFloat64(o, true), pixels: false },
  '<i4': { bytes: 4, read: (v, o) => v.getInt32(o, true), pixels: false },
  '|u1': { bytes: 1, read: (v, o) => v.getUint8(o), pixels: true },
};

function fromNpy(path: string, row: number, shape: readonly number[], bounds: Bounds): Float32Array {
  const bytes = readBounded(path);
  const bad = (why: string): never => {
    throw new DataError(
      'E_INPUT_FILE',
      `${path} is not a .npy file Rampart reads (${why}); save it with numpy.save as float32, float64, int32 or uint8.`,
      {
        details: { path },
      },
    );
  };
  if (bytes.length < 12 || bytes.toString('latin1', 0, 6) !== '\x93NUMPY') bad('no NPY magic');
  const major = bytes[6] as number;
  const headerLength = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const start = (major === 1 ? 10 : 12) + headerLength;
  const header = bytes.toString('latin1', major === 1 ? 10 : 12, start);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*True/.test(header);
  const dims = (/'shape':\s*\(([^)]*)\)/.exec(header)?.[1] ?? bad('no shape'))
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number);
  const dtype = descr === undefined ? undefined : NPY_DTYPES[descr];
  if (!dtype) return bad(`dtype ${String(descr)}`);
  if (fortran) bad('Fortran order');
  const size = shape.reduce((a, b) => a * b, 1);
  const total = dims.reduce((a, b) => a * b, 1);
  const rows = total / size;
  if (!Number.isInteger(rows) || rows < 1)
    throw new InputError(
      'E_INPUT_SHAPE',
      `${path} has shape (${dims.join(', ')}), which is not rows of the model's [${shape.join(', ')}]; reshape it.`,
      {
        details: { path, shape: dims, expected: [...shape] },
      },
    );
  if (row >= rows)
    throw new UsageError('E_FLAG_VALUE', `--row ${row} is past the end of ${path}, which holds ${rows} rows.`, { details: { row, rows } });
  if (bytes.length < start + total * dtype.bytes) bad('truncated data');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(size);
  for (let j = 0; j < size; j++) {
    const v = dtype.read(view, start + (row * size + j) * dtype.bytes);
    out[j] = dtype.pixels ? bounds.min + (v / 255) * (bounds.max - bounds.min) : v;
  }
  return out;
}

/**
 * Reads one input for a model of `shape` and `bounds` from a `.png` or `.npy` file.
 *
 * @throws UsageError `E_INPUT_FORMAT` for another extension; DataError `E_INPUT_FILE` for an unreadable
 *   file; InputError `E_INPUT_SHAPE` when it does not fit the model.
 * @example const x = readExplainInput('digit.png', 0, [28, 28, 1], { min: 0, max: 1 });
 */
export function readExplainInput(path: string, row: number, shape: readonly number[], bounds: Bounds): Float32Array {
  const ext = extname(path).toLowerCase();
  if (ext === '.png') return fromPng(path, shape, bounds);
  if (ext === '.npy') return fromNpy(path, row, shape, bounds);
  throw new UsageError('E_INPUT_FORMAT', `--input must be a .png image or a .npy array; got '${path}'. For text use --text "...".`, {
    details: { path, valid: ['.png', '.npy'] },
  });
}

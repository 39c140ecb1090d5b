/** Writers of real image, NPY, NPZ and CSV files for the data loader tests (no fixtures needed). */
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

import { zipSync } from 'fflate';
import { encode as encodeJpeg } from 'jpeg-js';

interface PngOptions {
  bitDepth?: number;
  colorType?: number;
  inputColorType?: number;
  inputHasAlpha?: boolean;
}
interface PngClass {
  new (options: PngOptions & { width: number; height: number }): { data: Buffer };
  sync: { write(png: unknown, options?: PngOptions): Buffer };
}
const { PNG } = createRequire(import.meta.url)('pngjs') as { PNG: PngClass };

/** RGBA value of pixel (row, col). */
export type PixelFn = (row: number, col: number) => readonly [number, number, number, number];

/** PNG bytes; `colorType` 0 gray, 2 RGB, 4 gray+alpha, 6 RGBA (pngjs converts from RGBA). */
export function pngBytes(width: number, height: number, pixel: PixelFn, colorType: 0 | 2 | 4 | 6 = 6): Buffer {
  const png = new PNG({ width, height });
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) png.data.set(pixel(r, c), 4 * (r * width + c));
  }
  return PNG.sync.write(png, { colorType, inputColorType: 6, inputHasAlpha: true });
}

export function writePng(path: string, width: number, height: number, pixel: PixelFn, colorType: 0 | 2 | 4 | 6 = 6): void {
  writeFileSync(path, pngBytes(width, height, pixel, colorType));
}

/** A 16-bit grayscale PNG of one row of values in [0, 65535]. */
export function png16Bytes(values: readonly number[]): Buffer {
  const options = { width: values.length, height: 1, bitDepth: 16, colorType: 0, inputColorType: 0, inputHasAlpha: false };
  const png = new PNG(options) as { data: unknown };
  png.data = Uint16Array.from(values);
  return PNG.sync.write(png, options);
}

/** JPEG bytes at quality 100 (still lossy: compare with a tolerance). */
export function jpegBytes(width: number, height: number, pixel: PixelFn): Buffer {
  const data = Buffer.alloc(width * height * 4);
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) data.set(pixel(r, c), 4 * (r * width + c));
  }
  return encodeJpeg({ data, width, height }, 100).data;
}

export type Dtype = '<f4' | '<f8' | '|u1' | '<i4' | '<i8' | '>f4' | '<f2';

/** NPY v1.0 bytes written by hand the way numpy.save does (header padded to 64 bytes, ending in a newline). */
export function npyBytes(
  dtype: Dtype,
  shape: readonly number[],
  values: readonly number[],
  options: { fortran?: boolean } = {},
): Uint8Array {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${dtype}', 'fortran_order': ${options.fortran ? 'True' : 'False'}, 'shape': ${shapeText}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const item = dtype === '|u1' ? 1 : dtype.endsWith('8') ? 8 : dtype === '<f2' ? 2 : 4;
  const body = new DataView(new ArrayBuffer(values.length * item));
  values.forEach((v, i) => {
    if (dtype === '<f4') body.setFloat32(i * 4, v, true);
    else if (dtype === '>f4') body.setFloat32(i * 4, v, false);
    else if (dtype === '<f8') body.setFloat64(i * 8, v, true);
    else if (dtype === '|u1') body.setUint8(i, v);
    else if (dtype === '<i4') body.setInt32(i * 4, v, true);
    else if (dtype === '<i8') body.setBigInt64(i * 8, BigInt(v), true);
    else body.setUint16(i * 2, v, true);
  });
  const out = new Uint8Array(10 + header.length + body.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length & 0xff, header.length >> 8]);
  out.set(new TextEncoder().encode(header), 10);
  out.set(new Uint8Array(body.buffer), 10 + header.length);
  return out;
}

/** An NPZ archive of the given members (names without `.npy`), deflated like numpy.savez_compressed or stored like savez. */
export function npzBytes(members: Record<string, Uint8Array>, compressed = true): Uint8Array {
  const files: Record<string, Uint8Array> = {};
  for (const [name, bytes] of Object.entries(members)) files[`${name}.npy`] = bytes;
  return zipSync(files, { level: compressed ? 6 : 0 });
}

/** Decoding PNG (pngjs) and JPEG (jpeg-js) to float pixels in [0, 1], HWC, 1 or 3 channels. */
import { createRequire } from 'node:module';

import { decode as decodeJpeg } from 'jpeg-js';

import type { ImageHeader } from './header.js';

// pngjs ships no type declarations; this is the one call used, typed here.
interface PngSync {
  read(buffer: Buffer, options?: { skipRescale?: boolean }): { width: number; height: number; data: Uint8Array };
}
const { PNG } = createRequire(import.meta.url)('pngjs') as { PNG: { sync: PngSync } };

/** Decoded pixels of one image. */
export interface Pixels {
  readonly width: number;
  readonly height: number;
  /** `height * width * channels` values in [0, 1], row-major HWC. */
  readonly data: Float32Array;
}

/**
 * Decodes a PNG or JPEG whose header was read by `readImageHeader`. 16-bit PNGs are read
 * at 8-bit precision (pngjs rescales them), the precision of every other format. Alpha is dropped
 * (not composited); a colour image becomes gray by ITU-R BT.601 luma when `channels` is
 * 1, and a gray image is repeated over three channels when it is 3.
 *
 * @param maxPixels - Passed to the JPEG decoder as a second guard on memory.
 * @throws {Error} Whatever the decoder throws for a corrupt file (the caller names the file).
 * @example
 * const pixels = decodeImage(bytes, header, 3, 4096 * 4096);
 */
export function decodeImage(bytes: Uint8Array, header: ImageHeader, channels: 1 | 3, maxPixels: number): Pixels {
  const rgba =
    header.format === 'png'
      ? PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))
      : decodeJpeg(bytes, {
          useTArray: true,
          formatAsRGBA: true,
          // Without this jpeg-js fills a truncated scan with gray instead of failing.
          tolerantDecoding: false,
          maxResolutionInMP: Math.max(1, maxPixels / 1e6),
          // RGBA output plus per-component buffers: 16 bytes a pixel is above what jpeg-js allocates.
          maxMemoryUsageInMB: Math.max(64, Math.ceil((maxPixels * 16) / 2 ** 20)),
        });
  const { width, height, data } = rgba;
  const pixels = width * height;
  const out = new Float32Array(pixels * channels);
  for (let p = 0; p < pixels; p++) {
    const r = data[4 * p] as number;
    const g = data[4 * p + 1] as number;
    const b = data[4 * p + 2] as number;
    if (channels === 3) {
      out[3 * p] = r / 255;
      out[3 * p + 1] = g / 255;
      out[3 * p + 2] = b / 255;
    } else {
      out[p] = header.gray ? r / 255 : (0.299 * r + 0.587 * g + 0.114 * b) / 255;
    }
  }
  return { width, height, data: out };
}

/**
 * Bilinear resize with half-pixel centres (as TF.js `resizeBilinear` with
 * `halfPixelCenters`), HWC.
 *
 * @throws Nothing.
 * @example
 * const small = resizeBilinear(pixels, 3, 28, 28);
 */
export function resizeBilinear(src: Pixels, channels: number, height: number, width: number): Pixels {
  if (src.height === height && src.width === width) return src;
  const out = new Float32Array(height * width * channels);
  const xs = sourceSteps(src.width, width);
  const ys = sourceSteps(src.height, height);
  const row = src.width * channels;
  const data = src.data;
  for (let y = 0; y < height; y++) {
    const top = (ys.lo[y] as number) * row;
    const bottom = (ys.hi[y] as number) * row;
    const wy = ys.weight[y] as number;
    for (let x = 0; x < width; x++) {
      const left = (xs.lo[x] as number) * channels;
      const right = (xs.hi[x] as number) * channels;
      const wx = xs.weight[x] as number;
      const o = (y * width + x) * channels;
      for (let c = 0; c < channels; c++) {
        const t = (data[top + left + c] as number) * (1 - wx) + (data[top + right + c] as number) * wx;
        const b = (data[bottom + left + c] as number) * (1 - wx) + (data[bottom + right + c] as number) * wx;
        out[o + c] = t * (1 - wy) + b * wy;
      }
    }
  }
  return { width, height, data: out };
}

// For each output index along one axis: the two source indices around its centre and the weight of the second.
function sourceSteps(from: number, to: number): { lo: Int32Array; hi: Int32Array; weight: Float64Array } {
  const lo = new Int32Array(to);
  const hi = new Int32Array(to);
  const weight = new Float64Array(to);
  const scale = from / to;
  for (let i = 0; i < to; i++) {
    const f = Math.min(Math.max((i + 0.5) * scale - 0.5, 0), from - 1);
    lo[i] = Math.floor(f);
    hi[i] = Math.min((lo[i] as number) + 1, from - 1);
    weight[i] = f - (lo[i] as number);
  }
  return { lo, hi, weight };
}

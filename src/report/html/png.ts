/**
 * A minimal PNG encoder (8-bit grayscale or RGB, no interlace), so the report can inline
 * adversarial examples as `data:` URIs without an image library.
 */
import { deflateSync } from 'node:zlib';

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = (CRC_TABLE[(c ^ b) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'ascii');
  Buffer.from(data).copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/**
 * Encodes `width × height` pixels: `channels` 1 (gray) or 3 (RGB), values 0–255, row-major.
 *
 * @throws RangeError when the pixel count does not match.
 * @example const png = encodePng(Uint8Array.from(pixels), 28, 28, 1);
 */
export function encodePng(pixels: Uint8Array, width: number, height: number, channels: 1 | 3): Buffer {
  if (pixels.length !== width * height * channels)
    throw new RangeError(`encodePng: expected ${width * height * channels} values, got ${pixels.length}.`);
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = channels === 1 ? 0 : 2;
  const stride = width * channels;
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) Buffer.from(pixels.subarray(y * stride, (y + 1) * stride)).copy(raw, y * (stride + 1) + 1);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', new Uint8Array(0)),
  ]);
}

/** Image values in [min, max] as a gray (1 channel) or RGB (3 channel) PNG data URI. */
export function imageDataUri(values: readonly number[], shape: readonly number[], bounds: { min: number; max: number }): string {
  const [height = 1, width = values.length, channels = 1] = shape;
  const bytes = Uint8Array.from(values, (v) => Math.round((255 * (v - bounds.min)) / (bounds.max - bounds.min)));
  const png =
    channels === 3
      ? encodePng(bytes, width, height, 3)
      : encodePng(channels === 1 ? bytes : bytes.filter((_, i) => i % channels === 0), width, height, 1);
  return `data:image/png;base64,${png.toString('base64')}`;
}

/**
 * A signed perturbation as a diverging-colour PNG data URI: red where a pixel went up,
 * blue where it went down, white for no change; `scale` maps to full colour.
 */
export function perturbationDataUri(delta: readonly number[], shape: readonly number[], scale: number): string {
  const [height = 1, width = delta.length, channels = 1] = shape;
  const rgb = new Uint8Array(width * height * 3);
  for (let p = 0; p < width * height; p++) {
    // Several channels: show the one with the largest change.
    let d = 0;
    for (let c = 0; c < channels; c++) {
      const v = delta[p * channels + c] ?? 0;
      if (Math.abs(v) > Math.abs(d)) d = v;
    }
    const t = Math.min(1, Math.abs(d) / Math.max(1e-12, scale));
    const fade = Math.round(255 * (1 - t));
    rgb.set(d >= 0 ? [255, fade, fade] : [fade, fade, 255], p * 3);
  }
  return `data:image/png;base64,${encodePng(rgb, width, height, 3).toString('base64')}`;
}

/**
 * Reading an image's format, size and colour kind from its first bytes, before decoding,
 * so an oversized image is refused without allocating its pixels and a folder's channel
 * count can be chosen from every image at once.
 */

/** What a file's header says about the image in it. */
export interface ImageHeader {
  readonly format: 'png' | 'jpeg';
  readonly width: number;
  readonly height: number;
  /** True for grayscale (with or without alpha) images. */
  readonly gray: boolean;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * The header of a PNG or JPEG file, or a sentence saying why it is not one.
 *
 * @throws Nothing; a bad file yields `{ problem }`.
 * @example
 * const header = readImageHeader(readFileSync('cat/1.png'));
 * if ('problem' in header) console.error(header.problem);
 */
export function readImageHeader(bytes: Uint8Array): ImageHeader | { problem: string } {
  if (PNG_SIGNATURE.every((b, i) => bytes[i] === b)) return pngHeader(bytes);
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return jpegHeader(bytes);
  return { problem: 'it is neither a PNG nor a JPEG (its first bytes are not a PNG or JPEG signature)' };
}

function pngHeader(bytes: Uint8Array): ImageHeader | { problem: string } {
  // The first chunk must be IHDR: length(4) "IHDR" width(4) height(4) depth(1) colour type(1).
  if (bytes.length < 33) return { problem: 'the PNG ends inside its header (truncated)' };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (String.fromCharCode(...bytes.subarray(12, 16)) !== 'IHDR') return { problem: 'the PNG does not start with an IHDR chunk' };
  const width = view.getUint32(16, false);
  const height = view.getUint32(20, false);
  const colorType = bytes[25] as number;
  if (width === 0 || height === 0) return { problem: `the PNG header gives an empty size ${width}x${height}` };
  return { format: 'png', width, height, gray: colorType === 0 || colorType === 4 };
}

// Start-of-frame markers of every JPEG coding process; C4 (DHT), C8 (JPG) and CC (DAC) are not frames.
const SOF = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);

function jpegHeader(bytes: Uint8Array): ImageHeader | { problem: string } {
  let pos = 2;
  let frame: { width: number; height: number; components: number } | undefined;
  while (pos + 4 <= bytes.length) {
    if (bytes[pos] !== 0xff) return { problem: `the JPEG has no segment marker at byte ${pos} (corrupt)` };
    const marker = bytes[pos + 1] as number;
    if (marker === 0xff) {
      pos += 1; // fill byte
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      pos += 2;
      continue;
    }
    const length = ((bytes[pos + 2] as number) << 8) | (bytes[pos + 3] as number);
    if (SOF.has(marker) && pos + 10 <= bytes.length) {
      const height = ((bytes[pos + 5] as number) << 8) | (bytes[pos + 6] as number);
      const width = ((bytes[pos + 7] as number) << 8) | (bytes[pos + 8] as number);
      frame = { width, height, components: bytes[pos + 9] as number };
    }
    if (marker === 0xda) {
      if (frame === undefined) return { problem: 'the JPEG starts its scan before any frame header' };
      // Entropy-coded data cannot contain FF D9 (an FF there is followed by 00 or a restart
      // marker), so the end-of-image marker after the scan tells a whole file from a cut one.
      if (!hasEndMarker(bytes, pos + 2 + length)) return { problem: 'the JPEG has no end-of-image marker (truncated)' };
      if (frame.width === 0 || frame.height === 0) return { problem: `the JPEG frame gives an empty size ${frame.width}x${frame.height}` };
      return { format: 'jpeg', width: frame.width, height: frame.height, gray: frame.components === 1 };
    }
    pos += 2 + length;
  }
  return { problem: 'the JPEG ends before its image data (truncated)' };
}

function hasEndMarker(bytes: Uint8Array, from: number): boolean {
  for (let i = bytes.length - 2; i >= from; i--) if (bytes[i] === 0xff && bytes[i + 1] === 0xd9) return true;
  return false;
}

/** Content address of a data set, used in reports and registry lineage. */
import { createHash, type Hash } from 'node:crypto';
import { endianness } from 'node:os';

import type { Dataset } from '../core/types.js';

// Bump when the hashed layout changes, so old and new addresses can never collide.
const FORMAT = 'rampart-dataset/1';
const LITTLE_ENDIAN = endianness() === 'LE';

/**
 * sha256 (hex) over the example shape, the labels and the exact float32 bytes of the
 * features. The name, bounds and class count are not hashed: the address says which
 * numbers were used, so a renamed copy of the same data keeps its address, while a
 * single changed pixel or label gives a new one.
 *
 * @throws Nothing for a well-formed {@link Dataset}; the hash only reads it.
 * @example
 * const id = hashDataset(loadBundledMnist()); // 64 hex characters
 */
export function hashDataset(ds: Dataset): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ format: FORMAT, shape: ds.shape, count: ds.count }));
  updateLittleEndian(hash, ds.y);
  updateLittleEndian(hash, ds.x);
  return hash.digest('hex');
}

// Hash bytes as little-endian whatever the host, so an address is the same everywhere.
function updateLittleEndian(hash: Hash, values: Int32Array | Float32Array): void {
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  if (LITTLE_ENDIAN) {
    hash.update(bytes);
    return;
  }
  const swapped = Uint8Array.from(bytes);
  for (let i = 0; i < swapped.length; i += 4) swapped.subarray(i, i + 4).reverse();
  hash.update(swapped);
}

/**
 * sha256 (hex) of raw bytes: the content digest of one source file, recorded in a data
 * set's provenance.
 *
 * @throws Nothing.
 * @example
 * sha256Hex(readFileSync('data/iris.csv')); // 64 hex characters
 */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Digest of a folder of files: sha256 over the sorted `relative path, file digest` lines,
 * so renaming, adding, removing or changing any file gives a new digest.
 *
 * @throws Nothing.
 * @example
 * folderDigest([{ path: 'cat/1.png', sha256: sha256Hex(bytes) }]);
 */
export function folderDigest(entries: readonly { readonly path: string; readonly sha256: string }[]): string {
  const lines = entries.map((e) => `${e.path}\t${e.sha256}\n`).sort();
  const hash = createHash('sha256');
  for (const line of lines) hash.update(line);
  return hash.digest('hex');
}

/** Reading a user's data file with a size cap checked before the bytes are read. */
import { readFileSync, statSync } from 'node:fs';

import { DataError } from '../../core/errors.js';
import type { SourceDigest } from '../../core/types.js';
import { sha256Hex } from '../hash.js';

/** Default cap on one data file (1 GiB), the same as an IDX file's. */
export const DEFAULT_MAX_FILE_BYTES = 1024 * 1024 * 1024;

/**
 * Reads a whole file after checking its size against `maxBytes`, with its digest for provenance.
 *
 * @param what - What the file is for (`'NPY file'`), used in messages.
 * @throws {DataError} `E_DATA_MISSING` if it does not exist; `E_DATA_READ` if it is not a
 *   readable file; `E_DATA_TOO_LARGE` if it holds more than `maxBytes`.
 * @example
 * const { bytes, digest } = readDataFile('x.npy', 'NPY file', DEFAULT_MAX_FILE_BYTES);
 */
export function readDataFile(path: string, what: string, maxBytes: number): { bytes: Uint8Array; digest: SourceDigest } {
  let size: number;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) {
      throw new DataError('E_DATA_READ', `${what} ${path} is not a regular file; give the path of the file itself.`, { details: { path } });
    }
    size = stat.size;
  } catch (cause) {
    if (cause instanceof DataError) throw cause;
    throw missingOrUnreadable(path, what, cause);
  }
  if (size > maxBytes) throw tooLarge(path, what, size, maxBytes);
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (cause) {
    throw missingOrUnreadable(path, what, cause);
  }
  return { bytes, digest: { path, sha256: sha256Hex(bytes), bytes: bytes.length } };
}

/**
 * The error for a file over its size cap, naming the option that raises it.
 *
 * @throws Nothing; returns the error.
 * @example
 * throw tooLarge('x.npy', 'NPY file', 2e9, 1e9);
 */
export function tooLarge(path: string, what: string, size: number, maxBytes: number): DataError {
  return new DataError(
    'E_DATA_TOO_LARGE',
    `${what} ${path} holds ${size} bytes, more than the ${maxBytes} allowed; pass a larger maxBytes if it is a real data set.`,
    { details: { path, bytes: size, maxBytes } },
  );
}

function missingOrUnreadable(path: string, what: string, cause: unknown): DataError {
  if ((cause as NodeJS.ErrnoException).code === 'ENOENT') {
    return new DataError('E_DATA_MISSING', `${what} not found: ${path}; check the path in the data spec.`, { cause, details: { path } });
  }
  return new DataError('E_DATA_READ', `Cannot read ${what} ${path}: ${(cause as Error).message}`, { cause, details: { path } });
}

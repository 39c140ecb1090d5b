/**
 * Synchronous atomic file writes (temp file, fsync, rename). Synchronous because the
 * registry's SQLite transactions cannot span an await.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

let counter = 0;

/** Writes `bytes` to `path` so readers see the old file or the whole new one, never a part. */
export function writeFileAtomicSync(path: string, bytes: Uint8Array, tmpPath = `${path}.tmp-${process.pid}-${++counter}`): void {
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(tmpPath, 'w');
  try {
    let off = 0;
    while (off < bytes.byteLength) off += writeSync(fd, bytes, off, bytes.byteLength - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(tmpPath, path);
  } catch (error) {
    try {
      unlinkSync(tmpPath);
    } catch {
      // The temp file is garbage either way; the rename error is the one to report.
    }
    throw error;
  }
}

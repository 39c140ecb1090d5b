/**
 * Content-addressed blob storage: `objects/sha256/ab/cdef…`. A blob is written to a temp
 * file, fsynced and renamed into place, so a reader (or a process killed mid-write) never
 * sees half a blob under its final name; an orphan blob is harmless, a torn one is not.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { join, relative } from 'node:path';
import { RegistryStorageError } from './storage-error.js';
import { writeFileAtomicSync } from '../core/files.js';
import { sha256Hex } from './canonical-json.js';

export class ObjectStore {
  readonly root: string;

  /** The registry directory the store lives in; messages name blobs relative to it. */
  private readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
    this.root = join(dir, 'objects', 'sha256');
    const tmp = join(dir, 'objects', 'tmp');
    mkdirSync(tmp, { recursive: true });
    // Temp files of killed writers; an hour is far longer than any live write takes.
    const stale = Date.now() - 60 * 60 * 1000;
    for (const name of readdirSync(tmp)) {
      try {
        if (statSync(join(tmp, name)).mtimeMs < stale) unlinkSync(join(tmp, name));
      } catch {
        // Another process removed or renamed it first.
      }
    }
  }

  pathOf(digest: string): string {
    return join(this.root, digest.slice(0, 2), digest.slice(2));
  }

  /** Stores bytes and returns their digest; an intact blob already present is not rewritten. */
  write(bytes: Uint8Array): string {
    const digest = sha256Hex(bytes);
    const final = this.pathOf(digest);
    // An existing blob is re-hashed rather than trusted, so storing the content again repairs a damaged copy.
    if (existsSync(final) && statSync(final).size === bytes.byteLength && sha256Hex(readFileSync(final)) === digest) return digest;
    // Temp files live outside sha256/ so a scan of the store never mistakes one for a blob.
    try {
      writeFileAtomicSync(final, bytes, { tmpDir: join(this.root, '..', 'tmp') });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
      throw new RegistryStorageError(
        'E_REGISTRY_WRITE',
        `Cannot store blob ${digest} in the registry: ${code} (is the disk full or read-only?).`,
        {
          cause: error,
          details: { digest, errno: code },
        },
      );
    }
    return digest;
  }

  /**
   * Reads a blob and checks it still hashes to its name.
   *
   * @throws RegistryStorageError `E_REGISTRY_CORRUPT` (a 5xx fault) when the blob is missing or its bytes changed.
   */
  read(digest: string): Buffer {
    const path = this.pathOf(digest);
    const where = relative(this.dir, path).split('\\').join('/');
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch (error) {
      throw new RegistryStorageError(
        'E_REGISTRY_CORRUPT',
        `Blob ${digest} (${where}) is missing from the registry; it lost data (restore its objects/ folder from a backup).`,
        {
          cause: error,
          details: { digest, path: where },
        },
      );
    }
    const actual = sha256Hex(bytes);
    if (actual !== digest) {
      throw new RegistryStorageError(
        'E_REGISTRY_CORRUPT',
        `Blob ${digest} (${where}) now hashes to ${actual}: it was modified on disk; restore it from a backup.`,
        {
          details: { digest, actual, path: where },
        },
      );
    }
    return bytes;
  }

  /** A problem description for a blob, or undefined when it is intact. */
  problem(digest: string): string | undefined {
    try {
      this.read(digest);
      return undefined;
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    }
  }
}

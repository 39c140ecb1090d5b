/**
 * The one way Rampart replaces a file: the bytes go to a temp file with a random name in
 * the same directory, created exclusively (`wx`, so a symlink or file planted at a guessable
 * name is never followed or reused), written with the final mode, fsynced, renamed over
 * the target, and the directory fsynced so the rename survives power loss. A failure at
 * any step removes the temp file. Readers see the old file or the whole new one.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface AtomicWriteOptions {
  /** Permission bits of the new file (default 0o644; 0o600 for secrets such as keys files). */
  mode?: number;
  /** Directory for the temp file (default: beside the target; must be on the same file system). */
  tmpDir?: string;
}

const DEFAULT_MODE = 0o644;

/** A temp path nobody can predict: 96 random bits beside the pid. */
export function tempPathFor(path: string, tmpDir = dirname(path)): string {
  return join(tmpDir, `.${basename(path)}.tmp-${process.pid}-${randomBytes(12).toString('hex')}`);
}

/**
 * Writes `bytes` to `path` atomically and durably (see the module comment). Synchronous for
 * callers inside SQLite transactions, which cannot span an await.
 *
 * @throws the file system's error (EACCES, ENOSPC...) after removing the temp file.
 * @example writeFileAtomicSync('keys.json', Buffer.from(text), { mode: 0o600 });
 */
export function writeFileAtomicSync(path: string, bytes: Uint8Array | string, options: AtomicWriteOptions = {}): void {
  const data = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
  mkdirSync(dirname(path), { recursive: true });
  if (options.tmpDir) mkdirSync(options.tmpDir, { recursive: true });
  const tmp = tempPathFor(path, options.tmpDir);
  // 'wx' is O_CREAT|O_EXCL: it fails on any existing entry, a symlink included, instead of following it.
  const fd = openSync(tmp, 'wx', options.mode ?? DEFAULT_MODE);
  try {
    try {
      let off = 0;
      while (off < data.byteLength) off += writeSync(fd, data, off, data.byteLength - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (error) {
    removeQuietlySync(tmp);
    throw error;
  }
  syncDirSync(dirname(path));
}

/**
 * The asynchronous form of {@link writeFileAtomicSync}.
 *
 * @example await writeFileAtomic('report.json', text);
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array | string, options: AtomicWriteOptions = {}): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  if (options.tmpDir) await mkdir(options.tmpDir, { recursive: true });
  const tmp = tempPathFor(path, options.tmpDir);
  const handle = await open(tmp, 'wx', options.mode ?? DEFAULT_MODE);
  try {
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (error) {
    await unlink(tmp).catch(() => undefined);
    throw error;
  }
  await syncDir(dirname(path));
}

/** Writes text atomically: a crash never leaves half a report behind. */
export async function writeTextFile(path: string, text: string, options: AtomicWriteOptions = {}): Promise<void> {
  await writeFileAtomic(path, text, options);
}

/** Writes pretty-printed JSON atomically (mode 0o600 for secrets via `options.mode`). */
export async function writeJsonFile(path: string, value: unknown, options: AtomicWriteOptions = {}): Promise<void> {
  await writeTextFile(path, `${JSON.stringify(value, null, 2)}\n`, options);
}

/** Flushes a directory entry so a rename survives power loss; some platforms cannot, which is fine. */
export async function syncDir(path: string): Promise<void> {
  const handle = await open(path, 'r').catch(() => undefined);
  if (handle === undefined) return;
  try {
    await handle.sync();
  } catch {
    // Windows and some network file systems refuse fsync on directories.
  } finally {
    await handle.close();
  }
}

/** The synchronous form of {@link syncDir}. */
export function syncDirSync(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return;
  }
  try {
    fsyncSync(fd);
  } catch {
    // As in syncDir: not every platform can fsync a directory.
  } finally {
    closeSync(fd);
  }
}

function removeQuietlySync(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone or never created; the original error is the one to report.
  }
}

/**
 * Replace a directory's contents as one step. Files go to a hidden sibling directory,
 * are flushed to disk, and the sibling is renamed over the target, so a reader sees the
 * old set of files or the new one, never a mix. Per-file renames inside the target would
 * not do: old model.json beside new weights.bin of the same size loads without error.
 */
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, open, readdir, realpath, rename, rm, rmdir, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { UsageError } from '../../core/errors.js';
import { syncDir } from '../../core/files.js';

export interface ReplaceDirOptions {
  /**
   * Runs once the new files are durable and before the swap. Throwing aborts the
   * commit and leaves the old directory untouched; tests use it to stand in for a crash.
   */
  beforeCommit?: () => void | Promise<void>;
}

/** Renames lost to a concurrent writer before giving up; each loss means another save won. */
const MAX_SWAP_ATTEMPTS = 8;

/**
 * Makes `dir` hold exactly `files` (name → bytes). Creates `dir` and its parents when
 * missing. An existing `dir` may hold only names in `files`: replacing it whole would
 * otherwise delete unrelated files the caller never meant to hand over.
 *
 * A crash before the swap leaves a hidden `.<name>.tmp-*` sibling and the old directory
 * intact. A crash in the microseconds between moving the old directory aside and moving
 * the new one in leaves no `dir` (loads fail with a clear error) and the old files in a
 * hidden `.<name>.old-*` sibling.
 *
 * @throws UsageError `E_MODEL_PATH_NOT_DIR` when `dir` exists and is not a directory.
 * @throws UsageError `E_MODEL_DIR_NOT_EMPTY` when `dir` holds files not in `files`.
 * @example
 * await replaceDirAtomically('out/model', new Map([['model.json', json], ['weights.bin', bin]]));
 */
export async function replaceDirAtomically(
  dir: string,
  files: ReadonlyMap<string, Uint8Array>,
  options: ReplaceDirOptions = {},
): Promise<void> {
  // Follow a symlinked target so the link keeps pointing at the (new) model.
  const target = await realpath(dir).catch(() => resolve(dir));
  await assertReplaceable(dir, target, files);
  const parent = dirname(target);
  await mkdir(parent, { recursive: true });

  const tmp = join(parent, `.${basename(target)}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  await mkdir(tmp);
  try {
    for (const [name, bytes] of files) await writeDurably(join(tmp, name), bytes);
    await syncDir(tmp);
    await options.beforeCommit?.();
  } catch (error) {
    await rm(tmp, { recursive: true, force: true });
    throw error;
  }

  const retired: string[] = [];
  try {
    await swapIn(tmp, target, retired);
  } catch (error) {
    await rm(tmp, { recursive: true, force: true });
    // Put the displaced copy back; if the place is taken, leave it aside rather than delete a model.
    const last = retired.at(-1);
    if (last !== undefined) await rename(last, target).catch(() => undefined);
    throw error;
  }
  await syncDir(parent);
  for (const old of retired) await removeRetired(old, files);
}

async function assertReplaceable(dir: string, target: string, files: ReadonlyMap<string, Uint8Array>): Promise<void> {
  const info = await lstat(target).catch(() => undefined);
  if (info === undefined) return;
  if (!info.isDirectory()) {
    throw new UsageError(
      'E_MODEL_PATH_NOT_DIR',
      `Cannot save model: ${dir} exists and is not a directory; pass a new or model directory.`,
      {
        details: { path: dir },
      },
    );
  }
  const foreign = (await readdir(target)).filter((name) => !files.has(name));
  if (foreign.length > 0) {
    throw new UsageError(
      'E_MODEL_DIR_NOT_EMPTY',
      `Cannot save model: ${dir} holds files that are not part of a model (${foreign.slice(0, 5).join(', ')}${foreign.length > 5 ? ', ...' : ''}); ` +
        `saving replaces the whole directory, so pass a new directory or one that holds only ${[...files.keys()].join(' and ')}.`,
      { details: { path: dir, foreign } },
    );
  }
}

/** Moves `tmp` to `target`, moving whatever sits at `target` aside first (recorded in `retired`). */
async function swapIn(tmp: string, target: string, retired: string[]): Promise<void> {
  for (let attempt = 0; attempt < MAX_SWAP_ATTEMPTS; attempt++) {
    try {
      // rename(2) replaces an empty directory in one step, and refuses a non-empty one.
      await rename(tmp, target);
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'EPERM') throw error;
    }
    const aside = join(dirname(target), `.${basename(target)}.old-${process.pid}-${randomBytes(6).toString('hex')}`);
    try {
      await rename(target, aside);
      retired.push(aside);
    } catch (error) {
      // A concurrent save moved it first; try again to move ours in.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  throw new Error(
    `replaceDirAtomically: ${target} kept being replaced by concurrent writers; gave up after ${MAX_SWAP_ATTEMPTS} attempts.`,
  );
}

/** Deletes only the files we own, never recursively, so anything added meanwhile survives. */
async function removeRetired(old: string, files: ReadonlyMap<string, Uint8Array>): Promise<void> {
  for (const name of files.keys()) await unlink(join(old, name)).catch(() => undefined);
  await rmdir(old).catch(() => undefined);
}

async function writeDurably(path: string, bytes: Uint8Array): Promise<void> {
  const handle = await open(path, 'wx');
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

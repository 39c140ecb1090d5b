/**
 * The `text-filter` model codec: a saved text filter (the directory `saveTextClassifier`
 * wrote, with its decision threshold and vocabulary beside it) travels as its files, and a
 * worker writes them to a private directory and loads them with `loadSavedTextFilter`, the
 * loader the coordinator, the plan's text stage and `rampart serve` use: the same filter.
 */
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataError, UsageError } from '../../../core/errors.js';
import { loadSavedTextFilter } from '../../../defenses/normalize-text/saved-filter.js';
import { isTextFilterModel } from '../../executor.js';
import type { ModelCodec } from './types.js';
import { packValue, unpackValue } from '../pack.js';

/** A saved filter is a model, its weights and two small companions; anything beyond this is not one. */
const MAX_FILES = 16;
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

interface TextFilterArtifact {
  names: string[];
  files: Uint8Array[];
}

/**
 * The files of `dir`, sorted by name (so the same directory has the same digest).
 *
 * @throws UsageError `E_QUEUE_MODEL` for a directory with subdirectories, odd names or too many files.
 */
async function readFilter(dir: string): Promise<TextFilterArtifact> {
  const names = (await readdir(dir)).sort();
  if (names.length > MAX_FILES) {
    throw new UsageError('E_QUEUE_MODEL', `${dir} holds ${names.length} files; a saved text filter has at most ${MAX_FILES}.`, {
      details: { path: dir, files: names.length },
    });
  }
  const files: Uint8Array[] = [];
  for (const name of names) {
    const info = await stat(join(dir, name));
    if (!info.isFile() || !FILE_NAME.test(name)) {
      throw new UsageError(
        'E_QUEUE_MODEL',
        `${join(dir, name)} is not a plain file of a saved text filter; remove it from the model directory.`,
        {
          details: { path: join(dir, name) },
        },
      );
    }
    files.push(new Uint8Array(await readFile(join(dir, name))));
  }
  return { names, files };
}

export const textFilterCodec: ModelCodec = {
  kind: 'text-filter',
  async encode(model) {
    if (!isTextFilterModel(model)) return undefined;
    return packValue(await readFilter(model.dir));
  },
  async decode(bytes) {
    const a = unpackValue(bytes) as Partial<TextFilterArtifact>;
    const ok =
      Array.isArray(a.names) &&
      Array.isArray(a.files) &&
      a.names.length === a.files.length &&
      a.names.length <= MAX_FILES &&
      a.names.every((n) => typeof n === 'string' && FILE_NAME.test(n)) &&
      a.files.every((f) => f instanceof Uint8Array);
    if (!ok) {
      throw new DataError(
        'E_QUEUE_MODEL',
        'A text filter artifact is malformed; coordinator and workers must run the same Rampart version.',
      );
    }
    const { names, files } = a as TextFilterArtifact;
    const dir = await mkdtemp(join(tmpdir(), 'rampart-text-filter-'));
    try {
      await Promise.all(names.map((name, i) => writeFile(join(dir, name), files[i] as Uint8Array)));
      const saved = await loadSavedTextFilter(dir);
      return {
        target: { text: saved.filter },
        dispose: () => {
          saved.model.dispose();
          void rm(dir, { recursive: true, force: true });
        },
      };
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
  },
};

/** The `npy:X.npy,Y.npy` and `npz:FILE.npz` data sources. */
import { unzipSync } from 'fflate';

import { DataError } from '../../core/errors.js';
import type { Dataset, SourceDigest } from '../../core/types.js';
import { DEFAULT_MAX_FILE_BYTES, readDataFile, tooLarge } from '../sources/read-file.js';
import { parseNpy } from './npy.js';
import { arraysToDataset, type ArrayDatasetOptions } from './to-dataset.js';

export interface NpyFilesOptions extends ArrayDatasetOptions {
  /** Most bytes each file may hold (default 1 GiB). */
  readonly maxBytes?: number;
}

/**
 * Loads examples and labels from two `.npy` files.
 *
 * @throws {DataError} What {@link readDataFile}, `parseNpy` and `arraysToDataset` throw.
 * @throws {InputError} Bad labels or non-finite features (see `arraysToDataset`).
 * @example
 * const { dataset } = loadNpyFiles('x.npy', 'y.npy', { scale: true });
 */
export function loadNpyFiles(xPath: string, yPath: string, options: NpyFilesOptions = {}): { dataset: Dataset; digests: SourceDigest[] } {
  const max = options.maxBytes ?? DEFAULT_MAX_FILE_BYTES;
  const x = readDataFile(xPath, 'NPY file', max);
  const y = readDataFile(yPath, 'NPY file', max);
  const dataset = arraysToDataset(parseNpy(x.bytes, xPath), parseNpy(y.bytes, yPath), { x: xPath, y: yPath }, options);
  return { dataset, digests: [x.digest, y.digest] };
}

export interface NpzOptions extends NpyFilesOptions {
  /** Member holding the examples, without `.npy` (default `x`). */
  readonly xKey?: string;
  /** Member holding the labels, without `.npy` (default `y`). */
  readonly yKey?: string;
}

/**
 * Loads examples and labels from an `.npz` archive (`numpy.savez` or `savez_compressed`).
 * Only the two members named are inflated, each after checking the size the archive
 * declares for it, so a small archive cannot inflate to gigabytes.
 *
 * @throws {DataError} `E_NPZ_FORMAT` if the file is not a readable zip; `E_NPZ_KEY` if a
 *   member is missing (listing those present); `E_DATA_TOO_LARGE` if the file or its
 *   two members together exceed `maxBytes`; anything `parseNpy` throws for a member.
 * @example
 * const { dataset } = loadNpz('mnist.npz', { xKey: 'x_test', yKey: 'y_test', scale: true });
 */
export function loadNpz(path: string, options: NpzOptions = {}): { dataset: Dataset; digests: SourceDigest[] } {
  const max = options.maxBytes ?? DEFAULT_MAX_FILE_BYTES;
  const { bytes, digest } = readDataFile(path, 'NPZ file', max);
  const xName = `${options.xKey ?? 'x'}.npy`;
  const yName = `${options.yKey ?? 'y'}.npy`;
  const members: string[] = [];
  let inflated = 0;
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes, {
      filter: (file) => {
        members.push(file.name);
        if (file.name !== xName && file.name !== yName) return false;
        inflated += file.originalSize;
        if (inflated > max) throw tooLarge(`${path} (${file.name})`, 'NPZ members', inflated, max);
        return true;
      },
    });
  } catch (cause) {
    if (cause instanceof DataError) throw cause;
    throw new DataError(
      'E_NPZ_FORMAT',
      `${path} is not a readable NPZ (zip) archive: ${(cause as Error).message}; save it with numpy.savez(path, x=x, y=y).`,
      { cause, details: { path } },
    );
  }
  for (const [name, option] of [
    [xName, 'xKey'],
    [yName, 'yKey'],
  ] as const) {
    if (files[name] === undefined) {
      const keys = members.map((m) => m.replace(/\.npy$/, ''));
      throw new DataError(
        'E_NPZ_KEY',
        `NPZ ${path} has no array '${name.replace(/\.npy$/, '')}' (it holds ${keys.join(', ') || 'nothing'}); name yours with ${option} (CLI: npz:${path}?${option}=NAME).`,
        { details: { path, missing: name, keys } },
      );
    }
  }
  const xLabel = `${path}:${xName}`;
  const yLabel = `${path}:${yName}`;
  const x = parseNpy(files[xName] as Uint8Array, xLabel);
  const y = parseNpy(files[yName] as Uint8Array, yLabel);
  return { dataset: arraysToDataset(x, y, { x: xLabel, y: yLabel }, { ...options, name: options.name ?? path }), digests: [digest] };
}

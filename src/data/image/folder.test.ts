import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import * as tf from '@tensorflow/tfjs';

import { RampartError } from '../../core/errors.js';
import { jpegBytes, png16Bytes, pngBytes, writePng, type PixelFn } from '../../../test/data-files.js';
import { resizeBilinear } from './decode.js';
import { loadImageFolder } from './folder.js';

const root = mkdtempSync(join(tmpdir(), 'rampart-images-'));
after(() => rmSync(root, { recursive: true, force: true }));
let made = 0;

/** A fresh folder holding `files` (relative path → bytes or text). */
function folder(files: Record<string, Uint8Array | string>): string {
  const dir = join(root, `f${made++}`);
  mkdirSync(dir);
  for (const [rel, content] of Object.entries(files)) {
    const path = join(dir, rel);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, content);
  }
  return dir;
}

function hasCode(code: string, ...mentions: string[]) {
  return (error: unknown): boolean =>
    error instanceof RampartError && error.code === code && mentions.every((m) => error.message.includes(m));
}

const gray =
  (v: number): PixelFn =>
  () => [v, v, v, 255];
const rgb: PixelFn = (r, c) => [10 * r, 20 * c, 255, 128];

test('gray PNGs: labels from sorted class folders, exact pixel values, one channel', () => {
  const dir = folder({
    'b/1.png': pngBytes(2, 3, gray(51), 0),
    'a/2.png': pngBytes(2, 3, gray(255), 0),
    'a/1.png': pngBytes(2, 3, (r, c) => [r * 100 + c, r * 100 + c, r * 100 + c, 255], 4),
  });
  const { dataset, digests } = loadImageFolder(dir);
  assert.deepEqual(dataset.classNames, ['a', 'b']);
  assert.deepEqual(dataset.shape, [3, 2, 1]);
  assert.deepEqual([...dataset.y], [0, 0, 1]);
  assert.equal(dataset.count, 3);
  const first = [...dataset.x.subarray(0, 6)].map((v) => Math.round(v * 255));
  assert.deepEqual(first, [0, 1, 100, 101, 200, 201]);
  assert.ok(dataset.x.subarray(6, 12).every((v) => v === 1));
  assert.ok(dataset.x.subarray(12).every((v) => Math.abs(v - 0.2) < 1e-6));
  assert.equal(digests.length, 1);
  assert.equal(digests[0]?.files, 3);
  assert.match(digests[0]?.sha256 ?? '', /^[0-9a-f]{64}$/);
});

test('RGBA PNG and a gray PNG in one folder: 3 channels, alpha dropped, gray repeated', () => {
  const dir = folder({ 'c/rgba.png': pngBytes(4, 2, rgb, 6), 'c/gray.png': pngBytes(4, 2, gray(51), 0) });
  const { dataset } = loadImageFolder(dir);
  assert.deepEqual(dataset.shape, [2, 4, 3]);
  const grayImage = [...dataset.x.subarray(0, 24)];
  assert.ok(grayImage.every((v) => Math.abs(v - 0.2) < 1e-6));
  const rgbaImage = [...dataset.x.subarray(24)].map((v) => Math.round(v * 255));
  // Pixel (1, 3): r = 10, g = 60, b = 255; alpha 128 does not show.
  assert.deepEqual(rgbaImage.slice((1 * 4 + 3) * 3, (1 * 4 + 3) * 3 + 3), [10, 60, 255]);
});

test('channels: 1 turns colour into BT.601 luma; JPEGs decode close to their pixels', () => {
  const dir = folder({ 'k/red.jpg': jpegBytes(8, 8, () => [200, 0, 0, 255]), 'k/blue.png': pngBytes(8, 8, () => [0, 0, 255, 255], 2) });
  const { dataset } = loadImageFolder(dir, { channels: 1 });
  assert.deepEqual(dataset.shape, [8, 8, 1]);
  const blue = dataset.x.subarray(0, 64);
  assert.ok(blue.every((v) => Math.abs(v - 0.114) < 1e-6));
  const red = dataset.x.subarray(64);
  assert.ok(
    red.every((v) => Math.abs(v - (0.299 * 200) / 255) < 0.03),
    `red luma ${red[0]}`,
  );

  const colour = loadImageFolder(dir).dataset;
  assert.deepEqual(colour.shape, [8, 8, 3]);
  const jpegPixel = [...colour.x.subarray(64 * 3 + 0, 64 * 3 + 3)].map((v) => v * 255);
  assert.ok(Math.abs((jpegPixel[0] ?? 0) - 200) < 8 && (jpegPixel[1] ?? 99) < 8 && (jpegPixel[2] ?? 99) < 8, String(jpegPixel));
});

test('16-bit PNGs load at 8-bit precision', () => {
  const { dataset } = loadImageFolder(folder({ 'a/deep.png': png16Bytes([65535, 32768, 0]) }));
  assert.deepEqual(dataset.shape, [1, 3, 1]);
  assert.deepEqual([...dataset.x], [1, 128 / 255, 0].map(Math.fround));
});

test('resize: images of any size become [h, w] by bilinear interpolation', () => {
  const dir = folder({ 'a/big.png': pngBytes(6, 4, gray(255), 0), 'b/small.png': pngBytes(2, 2, gray(0), 0) });
  const { dataset } = loadImageFolder(dir, { resize: [3, 3] });
  assert.deepEqual(dataset.shape, [3, 3, 1]);
  assert.deepEqual([...dataset.x], [...new Array(9).fill(1), ...new Array(9).fill(0)]);
});

test('resizeBilinear matches TF.js resizeBilinear with half-pixel centres', async () => {
  await tf.setBackend('cpu');
  const data = Float32Array.from({ length: 3 * 5 * 2 }, (_, i) => Math.sin(i) * 0.5 + 0.5);
  const before = tf.memory().numTensors;
  for (const [h, w] of [
    [7, 4],
    [2, 2],
    [3, 5],
    [1, 9],
  ] as const) {
    const ours = resizeBilinear({ height: 3, width: 5, data }, 2, h, w).data;
    const theirs = tf.tidy(() => tf.image.resizeBilinear(tf.tensor3d(data, [3, 5, 2]), [h, w], false, true).dataSync());
    assert.equal(ours.length, theirs.length);
    ours.forEach((v, i) => assert.ok(Math.abs(v - (theirs[i] as number)) < 1e-5, `${h}x${w} at ${i}: ${v} vs ${theirs[i]}`));
  }
  assert.equal(tf.memory().numTensors, before);
});

test('a size mismatch without resize names the file and the fix', () => {
  const dir = folder({ 'a/1.png': pngBytes(4, 4, gray(1), 0), 'a/2.png': pngBytes(5, 4, gray(1), 0) });
  assert.throws(() => loadImageFolder(dir), hasCode('E_IMAGE_SIZE', join(dir, 'a', '2.png'), '4x5', '4x4', 'resize=4x4'));
  assert.throws(() => loadImageFolder(dir, { size: [5, 4] }), hasCode('E_IMAGE_SIZE', join(dir, 'a', '1.png'), 'declared size'));
  assert.equal(loadImageFolder(dir, { resize: [4, 4] }).dataset.count, 2);
});

test('bad files and layouts: one coded error naming the file, nothing skipped', () => {
  const ok = pngBytes(2, 2, gray(9), 0);
  const jpeg = jpegBytes(8, 8, gray(9));
  const cases: [Record<string, Uint8Array | string>, string, string][] = [
    [{ 'a/1.png': ok, 'a/notes.txt': 'hello' }, 'E_IMAGE_FILE', 'notes.txt'],
    [{ 'a/1.png': ok, 'a/.DS_Store': 'x' }, 'E_IMAGE_FILE', '.DS_Store'],
    [{ 'a/1.png': ok, 'a/fake.png': 'this is not a png' }, 'E_IMAGE_DECODE', 'fake.png'],
    [{ 'a/1.png': ok, 'a/cut.png': ok.subarray(0, ok.length - 20) }, 'E_IMAGE_DECODE', 'cut.png'],
    [{ 'a/1.png': ok, 'a/stub.png': ok.subarray(0, 20) }, 'E_IMAGE_DECODE', 'stub.png'],
    [{ 'a/1.jpg': jpeg, 'a/cut.jpg': jpeg.subarray(0, jpeg.length - 10) }, 'E_IMAGE_DECODE', 'cut.jpg'],
    [{ 'a/1.jpg': jpeg, 'a/half.jpg': jpeg.subarray(0, Math.floor(jpeg.length / 2)) }, 'E_IMAGE_DECODE', 'half.jpg'],
    [{ 'a/1.png': ok, 'README.md': '#' }, 'E_IMAGE_FOLDER_LAYOUT', 'README.md'],
    [{ 'a/1.png': ok, 'a/deeper/2.png': ok }, 'E_IMAGE_FOLDER_LAYOUT', 'deeper'],
  ];
  for (const [files, code, name] of cases) {
    assert.throws(() => loadImageFolder(folder(files)), hasCode(code, name, 'remove'), `${code} ${name}`);
  }
});

test('empty folder, empty class folder, missing folder', () => {
  assert.throws(() => loadImageFolder(folder({})), hasCode('E_IMAGE_FOLDER_EMPTY'));
  const dir = folder({ 'a/1.png': pngBytes(2, 2, gray(9), 0) });
  mkdirSync(join(dir, 'b'));
  assert.throws(() => loadImageFolder(dir), hasCode('E_IMAGE_CLASS_EMPTY', join(dir, 'b')));
  assert.throws(() => loadImageFolder(join(root, 'nowhere')), hasCode('E_DATA_MISSING', 'nowhere'));
  const dangling = folder({ 'a/1.png': pngBytes(2, 2, gray(9), 0) });
  symlinkSync(join(root, 'gone.png'), join(dangling, 'a', '2.png'));
  assert.throws(() => loadImageFolder(dangling), hasCode('E_DATA_READ', '2.png', 'remove'));
});

test('bounds: max files, max pixels from the header, max total bytes', () => {
  const dir = folder({
    'a/1.png': pngBytes(4, 4, gray(9), 0),
    'a/2.png': pngBytes(4, 4, gray(9), 0),
    'b/3.png': pngBytes(4, 4, gray(9), 0),
  });
  assert.throws(() => loadImageFolder(dir, { maxFiles: 2 }), hasCode('E_DATA_TOO_LARGE', 'maxFiles'));
  assert.throws(() => loadImageFolder(dir, { maxPixels: 15 }), hasCode('E_IMAGE_TOO_LARGE', '1.png', 'maxPixels'));
  assert.throws(() => loadImageFolder(dir, { maxBytes: 100 }), hasCode('E_DATA_TOO_LARGE', 'maxBytes'));
  assert.equal(loadImageFolder(dir, { maxFiles: 3, maxPixels: 16 }).dataset.count, 3);

  // A header claiming a huge image is refused before the decoder allocates anything.
  const huge = Buffer.from(pngBytes(2, 2, gray(9), 0));
  huge.writeUInt32BE(60_000, 16);
  huge.writeUInt32BE(60_000, 20);
  const hugeDir = folder({ 'a/huge.png': huge });
  assert.throws(() => loadImageFolder(hugeDir), hasCode('E_IMAGE_TOO_LARGE', 'huge.png', '60000x60000'));
});

test('the folder digest changes when one file changes and not when nothing does', () => {
  const dir = folder({ 'a/1.png': pngBytes(2, 2, gray(9), 0), 'b/2.png': pngBytes(2, 2, gray(9), 0) });
  const first = loadImageFolder(dir).digests[0]?.sha256;
  assert.equal(loadImageFolder(dir).digests[0]?.sha256, first);
  writePng(join(dir, 'b', '2.png'), 2, 2, gray(10), 0);
  assert.notEqual(loadImageFolder(dir).digests[0]?.sha256, first);
});

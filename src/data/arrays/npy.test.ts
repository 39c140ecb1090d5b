import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { RampartError } from '../../core/errors.js';
import { npyBytes, npzBytes } from '../../../test/data-files.js';
import { parseNpy } from './npy.js';
import { loadNpyFiles, loadNpz } from './npy-source.js';

const dir = mkdtempSync(join(tmpdir(), 'rampart-npy-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let made = 0;

function file(bytes: Uint8Array | string, ext = 'npy'): string {
  const path = join(dir, `f${made++}.${ext}`);
  writeFileSync(path, bytes);
  return path;
}

function hasCode(code: string, ...mentions: string[]) {
  return (error: unknown): boolean =>
    error instanceof RampartError && error.code === code && mentions.every((m) => error.message.includes(m));
}

test('parseNpy reads every supported dtype, C order', () => {
  const values = [0, 1, 2, 3, 250, 7];
  for (const dtype of ['<f4', '<f8', '|u1', '<i4', '<i8'] as const) {
    const array = parseNpy(npyBytes(dtype, [2, 3], values), 'a.npy');
    assert.equal(array.dtype, dtype);
    assert.deepEqual(array.shape, [2, 3]);
    assert.deepEqual([...array.data].map(Number), values, dtype);
  }
  assert.deepEqual([...parseNpy(npyBytes('<f4', [3], [0.5, -1.25, 3e-8]), 'a').data], [0.5, -1.25, Math.fround(3e-8)]);
});

test('parseNpy reads version 2.0 headers (4-byte length)', () => {
  const v1 = npyBytes('<f4', [2], [1, 2]);
  const headerLength = (v1[8] as number) | ((v1[9] as number) << 8);
  const v2 = new Uint8Array(v1.length + 2);
  v2.set(v1.subarray(0, 8));
  v2[6] = 2;
  new DataView(v2.buffer).setUint32(8, headerLength, true);
  v2.set(v1.subarray(10), 12);
  assert.deepEqual([...parseNpy(v2, 'v2.npy').data], [1, 2]);
});

test('parseNpy refuses what it cannot read, naming the file and the fix', () => {
  const good = npyBytes('<f4', [2, 2], [1, 2, 3, 4]);
  assert.throws(
    () => parseNpy(npyBytes('<f4', [2, 2], [1, 2, 3, 4], { fortran: true }), 'f.npy'),
    hasCode('E_NPY_ORDER', 'f.npy', 'C order'),
  );
  assert.throws(() => parseNpy(npyBytes('>f4', [2], [1, 2]), 'b.npy'), hasCode('E_NPY_DTYPE', 'b.npy', '>f4', '<f4'));
  assert.throws(() => parseNpy(npyBytes('<f2', [2], [1, 2]), 'h.npy'), hasCode('E_NPY_DTYPE', '<f2'));
  assert.throws(() => parseNpy(good.subarray(0, good.length - 1), 't.npy'), hasCode('E_NPY_TRUNCATED', 't.npy', '16'));
  assert.throws(() => parseNpy(Buffer.concat([good, Buffer.from([0])]), 'x.npy'), hasCode('E_NPY_TRAILING', 'x.npy'));
  assert.throws(() => parseNpy(Buffer.from('just,a,csv\n1,2,3\n'), 'c.npy'), hasCode('E_NPY_FORMAT', 'c.npy', 'magic'));
  assert.throws(() => parseNpy(good.subarray(0, 30), 'h.npy'), hasCode('E_NPY_FORMAT', 'header'));
  const structured = Buffer.from(good);
  structured.write("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", 10, 'latin1');
  assert.throws(() => parseNpy(structured, 's.npy'), hasCode('E_NPY_DTYPE', 'structured'));
});

test('loadNpyFiles: examples [N, ...shape], integer labels, uint8 scaled when declared', () => {
  const x = file(npyBytes('|u1', [3, 2, 2, 1], [0, 255, 51, 102, 0, 0, 0, 0, 255, 255, 255, 255]));
  const y = file(npyBytes('<i8', [3], [2, 0, 1]));
  const scaled = loadNpyFiles(x, y, { scale: true }).dataset;
  assert.deepEqual(scaled.shape, [2, 2, 1]);
  assert.deepEqual([...scaled.y], [2, 0, 1]);
  assert.equal(scaled.numClasses, 3);
  assert.deepEqual(scaled.bounds, { min: 0, max: 1 });
  assert.deepEqual([...scaled.x.subarray(0, 4)], [0, 1, 0.2, 0.4].map(Math.fround));
  const raw = loadNpyFiles(x, y).dataset;
  assert.deepEqual(raw.bounds, { min: 0, max: 255 });
  assert.equal(raw.x[1], 255);
  const { digests } = loadNpyFiles(x, y, { numClasses: 5 });
  assert.deepEqual(
    digests.map((d) => d.path),
    [x, y],
  );
});

test('float examples keep their values; bounds [0, 1] if they fit, else the data range, else declared', () => {
  const y = file(npyBytes('<i4', [2], [0, 1]));
  const unit = loadNpyFiles(file(npyBytes('<f4', [2, 2], [0, 0.5, 1, 0.25])), y).dataset;
  assert.deepEqual(unit.bounds, { min: 0, max: 1 });
  const wide = loadNpyFiles(file(npyBytes('<f8', [2, 2], [-3, 0.5, 7, 0.25])), y).dataset;
  assert.deepEqual(wide.bounds, { min: -3, max: 7 });
  assert.deepEqual(loadNpyFiles(file(npyBytes('<f8', [2, 2], [-3, 0.5, 7, 0.25])), y, { bounds: { min: -10, max: 10 } }).dataset.bounds, {
    min: -10,
    max: 10,
  });
  const floatLabels = loadNpyFiles(file(npyBytes('<f4', [2, 1], [0, 1])), file(npyBytes('<f8', [2, 1], [1, 0]))).dataset;
  assert.deepEqual([...floatLabels.y], [1, 0]);
});

test('bad arrays: shapes, one-hot labels, fractional or out-of-range labels, NaN', () => {
  const x = file(npyBytes('<f4', [2, 2], [0, 1, 0, 1]));
  const cases: [string, string, string, ...string[]][] = [
    [file(npyBytes('<f4', [4], [0, 1, 0, 1])), file(npyBytes('<i4', [4], [0, 1, 0, 1])), 'E_NPY_SHAPE', 'reshape'],
    [x, file(npyBytes('<i4', [3], [0, 1, 0])), 'E_NPY_SHAPE', 'holds 2 examples'],
    [file(npyBytes('<f4', [0, 4], [])), file(npyBytes('<i4', [0], [])), 'E_NPY_SHAPE', 'at least one example'],
    [x, file(npyBytes('<f4', [2, 2], [1, 0, 0, 1])), 'E_NPY_SHAPE', 'argmax'],
    [x, file(npyBytes('<f4', [2], [0.5, 1])), 'E_LABEL_VALUE', '0.5'],
    [x, file(npyBytes('<i4', [2], [-1, 1])), 'E_LABEL_VALUE', '-1'],
    [file(npyBytes('<f4', [2, 2], [0, NaN, 0, 1])), file(npyBytes('<i4', [2], [0, 1])), 'E_NON_FINITE', 'NaN'],
  ];
  for (const [xp, yp, code, ...mentions] of cases) assert.throws(() => loadNpyFiles(xp, yp), hasCode(code, ...mentions), code);
  assert.throws(() => loadNpyFiles(x, file(npyBytes('<i4', [2], [0, 3])), { numClasses: 3 }), hasCode('E_LABEL_RANGE', 'numClasses'));
  assert.throws(() => loadNpyFiles(join(dir, 'missing.npy'), x), hasCode('E_DATA_MISSING', 'missing.npy'));
  assert.throws(() => loadNpyFiles(x, x, { maxBytes: 10 }), hasCode('E_DATA_TOO_LARGE', 'maxBytes'));
});

test('loadNpz reads savez and savez_compressed archives, default and named keys', () => {
  const xs = npyBytes('<f4', [2, 3], [0, 0.1, 0.2, 0.3, 0.4, 0.5]);
  const ys = npyBytes('|u1', [2], [1, 0]);
  for (const compressed of [true, false]) {
    const { dataset, digests } = loadNpz(file(npzBytes({ x: xs, y: ys }, compressed), 'npz'));
    assert.deepEqual(dataset.shape, [3]);
    assert.deepEqual([...dataset.y], [1, 0]);
    assert.equal(dataset.x[5], Math.fround(0.5));
    assert.equal(digests.length, 1);
  }
  const named = file(npzBytes({ x_test: xs, y_test: ys, extra: npyBytes('<f4', [1], [9]) }), 'npz');
  assert.equal(loadNpz(named, { xKey: 'x_test', yKey: 'y_test' }).dataset.count, 2);
  assert.throws(() => loadNpz(named), hasCode('E_NPZ_KEY', "'x'", 'x_test, y_test, extra', 'xKey'));
});

test('bad NPZ: not a zip, a corrupt member, members larger than maxBytes once inflated', () => {
  assert.throws(() => loadNpz(file('not a zip at all', 'npz')), hasCode('E_NPZ_FORMAT', 'savez'));
  const bad = npzBytes({ x: Buffer.from('garbage'), y: npyBytes('|u1', [1], [0]) });
  assert.throws(() => loadNpz(file(bad, 'npz')), hasCode('E_NPY_FORMAT', 'x.npy'));
  // 4 MB of zeros deflates to a few KB: refused from the sizes the archive declares, before inflating.
  const bomb = npzBytes({
    x: npyBytes('|u1', [1000, 4000], new Array(4_000_000).fill(0)),
    y: npyBytes('|u1', [1000], new Array(1000).fill(0)),
  });
  const path = file(bomb, 'npz');
  assert.ok(bomb.length < 100_000);
  assert.throws(() => loadNpz(path, { maxBytes: 1_000_000 }), hasCode('E_DATA_TOO_LARGE', 'x.npy'));
  assert.equal(loadNpz(path, { maxBytes: 5_000_000 }).dataset.count, 1000);
});

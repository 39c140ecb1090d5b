import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { RampartError } from '../../core/errors.js';
import { npyBytes, npzBytes, pngBytes } from '../../../test/data-files.js';
import { hashDataset } from '../hash.js';
import { loadDataset } from '../index.js';
import { splitDataset } from '../split.js';
import { takeFirst } from '../subset.js';
import { checkInputShape, loadDataSource } from './load.js';

const dir = mkdtempSync(join(tmpdir(), 'rampart-sources-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function hasCode(code: string, ...mentions: string[]) {
  return (error: unknown): boolean =>
    error instanceof RampartError && error.code === code && mentions.every((m) => error.message.includes(m));
}

const images = join(dir, 'imgs');
for (const [cls, value] of [
  ['cat', 0],
  ['dog', 255],
] as const) {
  mkdirSync(join(images, cls), { recursive: true });
  for (let i = 0; i < 3; i++)
    writeFileSync(
      join(images, cls, `${i}.png`),
      pngBytes(6, 6, () => [value, value, value, 255], 0),
    );
}
const table = join(dir, 't.csv');
writeFileSync(table, 'a,b,species\n1,2,x\n3,4,y\n5,6,x\n7,8,y\n');
const npz = join(dir, 'd.npz');
writeFileSync(npz, npzBytes({ x: npyBytes('|u1', [2, 2, 2, 1], [0, 255, 0, 255, 255, 0, 255, 0]), y: npyBytes('<i8', [2], [0, 1]) }));

test('every spec string loads through loadDataSource and loadDataset, with provenance', () => {
  const folder = loadDataSource(`folder:${images}?resize=4x4`);
  assert.deepEqual(folder.shape, [4, 4, 1]);
  assert.deepEqual(folder.classNames, ['cat', 'dog']);
  assert.equal(folder.provenance?.source, `folder:${images}?resize=4x4`);
  assert.equal(folder.provenance?.digests[0]?.files, 6);

  const csv = loadDataset(`csv:${table}?labelColumn=species`);
  assert.deepEqual(csv.featureNames, ['a', 'b']);
  assert.equal(csv.provenance?.digests[0]?.path, table);
  assert.match(csv.provenance?.digests[0]?.sha256 ?? '', /^[0-9a-f]{64}$/);

  const arrays = loadDataset({ kind: 'npz', path: npz, scale: true });
  assert.deepEqual([...arrays.x], [0, 1, 0, 1, 1, 0, 1, 0]);
  assert.equal(arrays.provenance?.source, `npz:${npz}?scale=true`);

  const mnist = loadDataset('mnist');
  assert.equal(mnist.provenance?.source, 'mnist');
});

test('IDX files keep working and now record their digests', () => {
  const imagesFile = join(dir, 'images.idx');
  const labelsFile = join(dir, 'labels.idx');
  writeFileSync(imagesFile, Buffer.from([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1, 0, 255]));
  writeFileSync(labelsFile, Buffer.from([0, 0, 8, 1, 0, 0, 0, 2, 7, 4]));
  const ds = loadDataset(`idx:${imagesFile},${labelsFile}`);
  assert.deepEqual([...ds.y], [7, 4]);
  assert.deepEqual(
    ds.provenance?.digests.map((d) => d.bytes),
    [18, 10],
  );
});

test("expectShape: data of another shape is E_INPUT_SHAPE naming both shapes and the source's fix", () => {
  assert.throws(
    () => loadDataSource(`folder:${images}`, { expectShape: [28, 28, 3] }),
    hasCode('E_INPUT_SHAPE', '[6, 6, 1]', '[28, 28, 3]', 'resize: [28, 28] and channels: 3', `folder:${images}?resize=28x28&channels=3`),
  );
  assert.throws(
    () => loadDataSource(`csv:${table}?labelColumn=species`, { expectShape: [3] }),
    hasCode('E_INPUT_SHAPE', '[2]', '[3]', 'ignoreColumns'),
  );
  assert.throws(() => loadDataSource(`npz:${npz}`, { expectShape: [4] }), hasCode('E_INPUT_SHAPE', '[2, 2, 1]', '[4]', 'reshape'));
  assert.deepEqual(loadDataSource(`folder:${images}`, { expectShape: [null, null, 1] }).shape, [6, 6, 1]);
  const fitted = loadDataSource(`folder:${images}?resize=28x28&channels=3`, { expectShape: [28, 28, 3] });
  assert.deepEqual(fitted.shape, [28, 28, 3]);
  assert.throws(() => checkInputShape(fitted, [784]), hasCode('E_INPUT_SHAPE', '[784]'));
});

test('splits and subsets keep class names, feature names and provenance; the content hash ignores them', () => {
  const csv = loadDataset(`csv:${table}?labelColumn=species`);
  const { train } = splitDataset(csv, { seed: 1, fractions: { train: 0.5, validation: 0, test: 0.5 } });
  assert.deepEqual(train.classNames, ['x', 'y']);
  assert.deepEqual(train.featureNames, ['a', 'b']);
  assert.deepEqual(takeFirst(csv, 1).featureBounds, csv.featureBounds);
  assert.equal(takeFirst(csv, 1).provenance, csv.provenance);
  const { classNames: _c, featureNames: _f, featureBounds: _b, provenance: _p, ...bare } = csv;
  assert.equal(hashDataset(bare), hashDataset(csv));
});

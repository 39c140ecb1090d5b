import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { RampartError } from '../core/errors.js';
import { loadDataset, type DatasetSpec } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'rampart-data-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function isUnknown(error: unknown): boolean {
  return (
    error instanceof RampartError &&
    error.code === 'E_UNKNOWN_DATASET' &&
    error.kind === 'usage' &&
    error.message.includes('mnist') &&
    error.message.includes('idx:IMAGES,LABELS')
  );
}

test("loadDataset('mnist') loads the bundled digits", () => {
  const ds = loadDataset('mnist');
  assert.equal(ds.name, 'mnist-bundled');
  assert.equal(ds.count, 10_000);
});

test('loadDataset loads IDX files', () => {
  const images = join(dir, 'images');
  const labels = join(dir, 'labels');
  writeFileSync(images, Buffer.from([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1, 0, 255]));
  writeFileSync(labels, Buffer.from([0, 0, 8, 1, 0, 0, 0, 2, 7, 4]));
  const ds = loadDataset({ kind: 'idx', images, labels, name: 'two' });
  assert.equal(ds.name, 'two');
  assert.deepEqual([...ds.x], [0, 1]);
  assert.deepEqual([...ds.y], [7, 4]);
  assert.deepEqual(ds.shape, [1, 1, 1]);
});

test('unknown specs: E_UNKNOWN_DATASET listing the valid choices', () => {
  const bad = ['cifar10', '', 'parquet:x.parquet', { kind: 'parquet', path: 'x.parquet' }, null] as unknown as DatasetSpec[];
  for (const spec of bad) assert.throws(() => loadDataset(spec), isUnknown, JSON.stringify(spec));
});

test("{ kind: 'idx' } without both paths: E_DATASET_SPEC", () => {
  const spec = { kind: 'idx', images: 'a' } as unknown as DatasetSpec;
  assert.throws(
    () => loadDataset(spec),
    (error) => error instanceof RampartError && error.code === 'E_DATASET_SPEC',
  );
});

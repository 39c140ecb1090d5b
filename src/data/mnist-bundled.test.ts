import assert from 'node:assert/strict';
import { test } from 'node:test';

import { hashDataset } from './hash.js';
import { loadBundledMnist } from './mnist-bundled.js';
import { validateDataset } from './validate.js';

const EXPECTED_PER_CLASS = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978];

test('bundled MNIST has 10,000 28x28x1 digits in [0, 1] with the known class counts', () => {
  const ds = loadBundledMnist();
  assert.equal(ds.name, 'mnist-bundled');
  assert.equal(ds.count, 10_000);
  assert.deepEqual(ds.shape, [28, 28, 1]);
  assert.deepEqual(ds.bounds, { min: 0, max: 1 });
  assert.equal(ds.numClasses, 10);
  assert.equal(ds.x.length, 10_000 * 784);
  const counts = new Array<number>(10).fill(0);
  for (const label of ds.y) counts[label] = (counts[label] ?? 0) + 1;
  assert.deepEqual(counts, EXPECTED_PER_CLASS);
  validateDataset(ds);
});

test('bundled MNIST is ordered by digit, then file order', () => {
  const ds = loadBundledMnist();
  for (let i = 1; i < ds.count; i++) assert.ok((ds.y[i] as number) >= (ds.y[i - 1] as number), `label order breaks at ${i}`);
  assert.equal(ds.y[0], 0);
  assert.equal(ds.y[1001], 1);
  assert.equal(ds.y[9999], 9);
  // The first digit-0 image has its first ink at pixel 127 (0.2 in the JSON file).
  assert.equal(ds.x[126], 0);
  assert.equal(ds.x[127], Math.fround(0.2));
});

test('bundled MNIST is the same data on every call, and callers cannot corrupt the cache', () => {
  const a = loadBundledMnist();
  const hash = hashDataset(a);
  a.x[0] = 0.5;
  a.y[0] = 3;
  const b = loadBundledMnist();
  assert.notEqual(a.x, b.x);
  assert.equal(b.x[0], 0);
  assert.equal(b.y[0], 0);
  assert.equal(hashDataset(b), hash);
});

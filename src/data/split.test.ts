import assert from 'node:assert/strict';
import { test } from 'node:test';

import { RampartError } from '../core/errors.js';
import type { Dataset } from '../core/types.js';
import { hashDataset } from './hash.js';
import { loadBundledMnist } from './mnist-bundled.js';
import { batches, splitDataset, subset, takeFirst } from './split.js';

/**
 * `perClass[c]` examples of class c, 2 features each; feature 0 holds the example's
 * index so tests can tell which source example ended up where.
 */
function labelled(perClass: number[]): Dataset {
  const labels = perClass.flatMap((n, c) => new Array<number>(n).fill(c));
  const x = new Float32Array(labels.length * 2);
  labels.forEach((_, i) => {
    x[2 * i] = i;
    x[2 * i + 1] = -i;
  });
  return {
    name: 'toy',
    shape: [2],
    x,
    y: Int32Array.from(labels),
    numClasses: perClass.length,
    bounds: { min: -1e6, max: 1e6 },
    count: labels.length,
  };
}

/** Source indices of a subset built from `labelled`. */
const sourceIndices = (ds: Dataset): number[] => Array.from({ length: ds.count }, (_, i) => ds.x[2 * i] as number);

const FRACTIONS = { train: 0.7, validation: 0.1, test: 0.2 };

function classCounts(ds: Dataset): number[] {
  const counts = new Array<number>(ds.numClasses).fill(0);
  for (const label of ds.y) counts[label] = (counts[label] ?? 0) + 1;
  return counts;
}

function assertCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (error) => error instanceof RampartError && error.code === code);
}

test('split covers every index exactly once, with no overlap', () => {
  const ds = labelled([37, 5, 0, 18, 1, 2]);
  for (const stratified of [true, false]) {
    const parts = splitDataset(ds, { seed: 3, fractions: FRACTIONS, stratified });
    const all = [...sourceIndices(parts.train), ...sourceIndices(parts.validation), ...sourceIndices(parts.test)];
    assert.equal(all.length, ds.count);
    assert.deepEqual(
      [...all].sort((a, b) => a - b),
      Array.from({ length: ds.count }, (_, i) => i),
    );
    // Labels travel with their features.
    for (const part of [parts.train, parts.validation, parts.test]) {
      sourceIndices(part).forEach((src, k) => assert.equal(part.y[k], ds.y[src]));
    }
  }
});

test('split is deterministic for a seed and differs across seeds', () => {
  const ds = labelled([50, 40, 30]);
  const a = splitDataset(ds, { seed: 11, fractions: FRACTIONS });
  const b = splitDataset(ds, { seed: 11, fractions: FRACTIONS });
  const c = splitDataset(ds, { seed: 12, fractions: FRACTIONS });
  for (const key of ['train', 'validation', 'test'] as const) {
    assert.deepEqual(sourceIndices(a[key]), sourceIndices(b[key]));
    assert.equal(hashDataset(a[key]), hashDataset(b[key]));
  }
  assert.notDeepEqual(sourceIndices(a.train), sourceIndices(c.train));
});

test('stratified split keeps each class proportion within 1 example', () => {
  const ds = labelled([37, 5, 0, 18, 1, 2, 101]);
  for (const fractions of [FRACTIONS, { train: 0.5, validation: 0.25, test: 0.25 }, { train: 1 / 3, validation: 1 / 3, test: 1 / 3 }]) {
    for (const seed of [0, 1, 2]) {
      const parts = splitDataset(ds, { seed, fractions });
      const total = classCounts(ds);
      for (const key of ['train', 'validation', 'test'] as const) {
        classCounts(parts[key]).forEach((n, c) => {
          const exact = (total[c] as number) * fractions[key];
          assert.ok(Math.abs(n - exact) <= 1, `${key} class ${c}: ${n} vs exact ${exact}`);
        });
      }
    }
  }
});

test('stratified split of bundled MNIST keeps digit proportions and names subsets', () => {
  const mnist = loadBundledMnist();
  const parts = splitDataset(mnist, { seed: 42, fractions: { train: 0.8, validation: 0.1, test: 0.1 } });
  assert.equal(parts.train.name, 'mnist-bundled/train');
  assert.equal(parts.validation.name, 'mnist-bundled/validation');
  assert.equal(parts.test.name, 'mnist-bundled/test');
  assert.equal(parts.train.count + parts.validation.count + parts.test.count, 10_000);
  const total = classCounts(mnist);
  classCounts(parts.test).forEach((n, c) => assert.ok(Math.abs(n - (total[c] as number) * 0.1) <= 1));
  assert.deepEqual(parts.test.shape, [28, 28, 1]);
  assert.deepEqual(parts.test.bounds, mnist.bounds);
  // Subsets are interleaved, not sorted by class like the source.
  assert.ok(new Set(parts.test.y.subarray(0, 50)).size > 3);
});

test('unstratified split cuts the whole set by fraction', () => {
  const ds = labelled([100]);
  const parts = splitDataset(ds, { seed: 1, fractions: FRACTIONS, stratified: false });
  assert.deepEqual([parts.train.count, parts.validation.count, parts.test.count], [70, 10, 20]);
});

test('zero fractions give empty subsets', () => {
  const parts = splitDataset(labelled([10, 10]), { seed: 1, fractions: { train: 1, validation: 0, test: 0 } });
  assert.equal(parts.train.count, 20);
  assert.equal(parts.validation.count, 0);
  assert.equal(parts.validation.x.length, 0);
  assert.equal(parts.test.count, 0);
});

test('fractions are validated: E_SPLIT_FRACTIONS', () => {
  const ds = labelled([10]);
  const bad = [
    { train: 0.8, validation: 0.1, test: 0.2 },
    { train: 1.2, validation: -0.1, test: -0.1 },
    { train: Number.NaN, validation: 0.5, test: 0.5 },
    { train: 0.5, validation: 0.5 } as unknown as typeof FRACTIONS,
  ];
  for (const fractions of bad) assertCode(() => splitDataset(ds, { seed: 1, fractions }), 'E_SPLIT_FRACTIONS');
  // A sum off by floating-point noise is accepted.
  splitDataset(ds, { seed: 1, fractions: { train: 0.1 + 0.2, validation: 0.3, test: 0.4 } });
  assertCode(() => splitDataset(ds, { seed: Number.NaN, fractions: FRACTIONS }), 'E_SPLIT_SEED');
});

test('subset copies the chosen examples in order and checks indices', () => {
  const ds = labelled([3, 3]);
  const s = subset(ds, [4, 0, 4], 'picked');
  assert.equal(s.name, 'picked');
  assert.equal(s.count, 3);
  assert.deepEqual(sourceIndices(s), [4, 0, 4]);
  assert.deepEqual([...s.y], [1, 0, 1]);
  s.x[0] = 99;
  assert.equal(ds.x[8], 4, 'the source is untouched');
  assert.equal(subset(ds, Int32Array.from([1])).name, 'toy/subset');
  for (const index of [-1, 6, 1.5]) assertCode(() => subset(ds, [0, index]), 'E_INDEX_RANGE');
});

test('takeFirst takes the first n, clamps to count and rejects bad n', () => {
  const ds = labelled([3, 3]);
  const first = takeFirst(ds, 4);
  assert.equal(first.count, 4);
  assert.equal(first.name, 'toy/first-4');
  assert.deepEqual(sourceIndices(first), [0, 1, 2, 3]);
  assert.equal(takeFirst(ds, 100).count, 6);
  assert.equal(takeFirst(ds, 0).count, 0);
  assertCode(() => takeFirst(ds, -1), 'E_TAKE_COUNT');
  assertCode(() => takeFirst(ds, 2.5), 'E_TAKE_COUNT');
});

test('batches without shuffle walk the data in order, last batch short', () => {
  const ds = labelled([4, 3]);
  const seen = [...batches(ds, 3)];
  assert.deepEqual(
    seen.map((b) => [b.start, b.count]),
    [
      [0, 3],
      [3, 3],
      [6, 1],
    ],
  );
  assert.deepEqual(
    seen.flatMap((b) => [...b.indices]),
    [0, 1, 2, 3, 4, 5, 6],
  );
  const last = seen[2];
  assert.ok(last);
  assert.deepEqual([...last.x], [6, -6]);
  assert.deepEqual([...last.y], [1]);
});

test('shuffled batches cover every example once, reproducibly per seed', () => {
  const ds = labelled([20, 13]);
  const order = (seed: number) => [...batches(ds, 8, { shuffle: true, seed })].flatMap((b) => [...b.indices]);
  const a = order(5);
  assert.deepEqual(
    [...a].sort((p, q) => p - q),
    Array.from({ length: ds.count }, (_, i) => i),
  );
  assert.deepEqual(order(5), a);
  assert.notDeepEqual(order(6), a);
  for (const b of batches(ds, 8, { shuffle: true, seed: 5 })) {
    b.indices.forEach((src, k) => {
      assert.equal(b.x[2 * k], src);
      assert.equal(b.y[k], ds.y[src]);
    });
  }
});

test('batches reject bad arguments at the call, not at the first next()', () => {
  const ds = labelled([2]);
  for (const size of [0, -1, 1.5, Number.NaN]) assertCode(() => batches(ds, size), 'E_BATCH_SIZE');
  assertCode(() => batches(ds, 2, { shuffle: true }), 'E_BATCH_SEED');
  assert.deepEqual([...batches(labelled([0]), 4)], []);
});

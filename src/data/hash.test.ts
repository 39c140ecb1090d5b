import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { Dataset } from '../core/types.js';
import { hashDataset } from './hash.js';
import { loadBundledMnist } from './mnist-bundled.js';

function tiny(overrides: Partial<Dataset> = {}): Dataset {
  return {
    name: 'tiny',
    shape: [2, 2, 1],
    x: Float32Array.from([0, 0.25, 0.5, 1, 1, 0.5, 0.25, 0]),
    y: Int32Array.from([0, 1]),
    numClasses: 2,
    bounds: { min: 0, max: 1 },
    count: 2,
    ...overrides,
  };
}

test('hash is 64 hex characters and stable across calls and copies', () => {
  const h = hashDataset(tiny());
  assert.match(h, /^[0-9a-f]{64}$/);
  assert.equal(hashDataset(tiny()), h);
  assert.equal(hashDataset(tiny({ name: 'renamed' })), h, 'the name is not content');
});

test('hash changes with one pixel, one label or the shape', () => {
  const base = hashDataset(tiny());
  const x = tiny().x.slice();
  x[3] = Math.fround(0.999);
  assert.notEqual(hashDataset(tiny({ x })), base);
  assert.notEqual(hashDataset(tiny({ y: Int32Array.from([1, 1]) })), base);
  assert.notEqual(hashDataset(tiny({ shape: [4, 1, 1] })), base);
});

test('hash of a view equals the hash of a copy (byteOffset honoured)', () => {
  const backing = new Float32Array(20).fill(0.75);
  backing.set(tiny().x, 6);
  const view = backing.subarray(6, 14);
  assert.equal(hashDataset(tiny({ x: view })), hashDataset(tiny()));
});

// Pinned: registry entries and reports refer to data by this address, so a change in the
// hashed layout or the loader must be deliberate (bump FORMAT in hash.ts).
const BUNDLED_MNIST_SHA256 = '2410e9813d058ee8600cdc4d4ebfbe46462f2d1a1b3eb21f5c3933ffb8c6a0b8';

test('bundled MNIST hash is stable and sensitive to one changed pixel', () => {
  const ds = loadBundledMnist();
  const h = hashDataset(ds);
  assert.equal(h, BUNDLED_MNIST_SHA256);
  assert.equal(hashDataset(loadBundledMnist()), h);
  ds.x[5000 * 784 + 400] = (ds.x[5000 * 784 + 400] as number) + 1 / 255;
  assert.notEqual(hashDataset(ds), h);
});

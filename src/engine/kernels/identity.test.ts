/**
 * The wasm Identity and same-dtype Cast overrides share the input's data (as the cpu
 * backend does) instead of copying it: values, lifetimes, reference counts, XNNPACK
 * operators cached on a shared tensor, and the stock fallbacks.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';

import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-wasm';

import { registerWasmGradientKernels } from './index.js';

function backend(): BackendWasm {
  return tf.findBackend('wasm') as BackendWasm;
}

before(async () => {
  registerWasmGradientKernels();
  await tf.setBackend('wasm');
  await tf.ready();
});

describe('Identity', () => {
  it('shares the data, which outlives the original and is freed with the last holder', () => {
    const ids = backend().numDataIds();
    const x = tf.tensor([1, 2, 3, 4], [2, 2]);
    const y = tf.clone(x);
    assert.equal(backend().numDataIds(), ids + 1, 'no copy');
    x.dispose();
    assert.deepEqual(Array.from(y.dataSync()), [1, 2, 3, 4]);
    assert.deepEqual(y.shape, [2, 2]);
    y.dispose();
    assert.equal(backend().numDataIds(), ids, 'freed with the last holder');
  });

  it('keeps a clone of a variable when the variable is assigned', () => {
    const v = tf.variable(tf.tensor([1, 2, 3]));
    const c = tf.clone(v);
    v.assign(tf.tensor([7, 8, 9]));
    assert.deepEqual(Array.from(c.dataSync()), [1, 2, 3]);
    assert.deepEqual(Array.from(v.dataSync()), [7, 8, 9]);
    tf.dispose([v, c]);
  });

  it('gives right products with a shared weight after the original is disposed', async () => {
    const w = tf.tensor(
      Float32Array.from({ length: 12 }, (_, i) => i - 5),
      [4, 3],
    );
    const x = tf.tensor(
      Float32Array.from({ length: 8 }, (_, i) => i * 0.5),
      [2, 4],
    );
    const first = tf.matMul(x, w).arraySync() as number[][];
    const shared = tf.clone(w);
    w.dispose();
    assert.deepEqual(tf.matMul(x, shared).arraySync(), first);
    const next = tf.tidy(() => shared.mul(2));
    assert.deepEqual(
      tf.matMul(x, next).arraySync(),
      first.map((row) => row.map((v) => v * 2)),
    );
    tf.dispose([x, shared, next]);
  });

  it('copies string tensors with the stock kernel', () => {
    const s = tf.tensor(['a', 'bc']);
    const c = tf.clone(s);
    s.dispose();
    assert.deepEqual(c.dataSync(), ['a', 'bc']);
    c.dispose();
  });

  it('keeps tensors and wasm data ids stable across repeated gradients', () => {
    const w = tf.variable(tf.randomNormal([8, 4], 0, 1, 'float32', 1));
    const x = tf.randomNormal([5, 8], 0, 1, 'float32', 2);
    const step = () =>
      tf.tidy(() =>
        tf
          .grads((a: tf.Tensor, b: tf.Tensor) => tf.relu(tf.matMul(a, b)).square().sum())([x, w])
          .forEach((g) => g.dataSync()),
      );
    step();
    const tensors = tf.memory().numTensors;
    const ids = backend().numDataIds();
    for (let i = 0; i < 3; i++) {
      step();
      assert.equal(tf.memory().numTensors, tensors);
      assert.equal(backend().numDataIds(), ids);
    }
    tf.dispose([w, x]);
  });
});

describe('Cast', () => {
  it('shares the data when the dtype does not change', () => {
    const ids = backend().numDataIds();
    const x = tf.tensor([1.5, -2.25]);
    const y = tf.cast(x, 'float32');
    assert.equal(backend().numDataIds(), ids + 1);
    x.dispose();
    assert.deepEqual(Array.from(y.dataSync()), [1.5, -2.25]);
    y.dispose();
    assert.equal(backend().numDataIds(), ids);
  });

  it('converts as cpu does (to bool here, else with the stock kernel)', async () => {
    const run = () =>
      tf.tidy(() => {
        const f = tf.tensor([1.7, -2.7, 0, 3.2, NaN, -0, 256, -Infinity]);
        return [
          Array.from(tf.cast(f, 'int32').dataSync()),
          Array.from(tf.cast(f, 'bool').dataSync()),
          Array.from(tf.cast(tf.tensor([1, 0, 1], [3], 'bool'), 'float32').dataSync()),
          Array.from(tf.cast(tf.tensor([3, -4], [2], 'int32'), 'float32').dataSync()),
          Array.from(tf.cast(tf.tensor([3, -256, 0], [3], 'int32'), 'bool').dataSync()),
          Array.from(tf.cast(tf.tensor([1, 0], [2], 'bool'), 'bool').dataSync()),
        ];
      }) as unknown as number[][];
    await tf.setBackend('cpu');
    const cpu = run();
    await tf.setBackend('wasm');
    const wasm = run();
    assert.deepEqual(wasm, cpu);
  });
});

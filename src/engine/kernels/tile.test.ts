/** The wasm Tile override against the cpu backend: ranks 1-5, dtypes, repetitions of 0 and 1, and the batch-norm gradient that uses it. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';

import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

import { relError, seededValues } from '../../../test/kernel-support.js';
import { activeWasmGradientKernels, registerWasmGradientKernels } from './index.js';

async function onBoth<T>(f: () => T): Promise<{ cpu: T; wasm: T }> {
  await tf.setBackend('cpu');
  const cpu = f();
  await tf.setBackend('wasm');
  const wasm = f();
  return { cpu, wasm };
}

before(async () => {
  registerWasmGradientKernels();
  await tf.setBackend('wasm');
  await tf.ready();
});

const CASES: ReadonlyArray<readonly [number[], number[]]> = [
  [[5], [3]],
  [
    [2, 3],
    [1, 1],
  ],
  [
    [2, 3],
    [3, 2],
  ],
  [
    [1, 1, 1, 7],
    [2, 5, 4, 1],
  ],
  [
    [2, 4, 3, 1],
    [1, 1, 1, 19],
  ],
  [
    [2, 3, 1, 4],
    [2, 1, 3, 2],
  ],
  [
    [1, 1, 1, 40],
    [3, 2, 2, 1],
  ],
  [
    [2, 1, 3, 1, 2],
    [1, 2, 1, 3, 2],
  ],
  [
    [3, 2],
    [0, 2],
  ],
];

describe('Tile on wasm', () => {
  it('is ours', () => assert.ok(activeWasmGradientKernels().includes(tf.Tile)));

  for (const [shape, reps] of CASES) {
    it(`tiles [${shape}] by [${reps}] as the cpu backend does, for float32, int32 and bool`, async () => {
      const n = shape.reduce((a, b) => a * b, 1);
      const v = seededValues(n, n + reps.length);
      const { cpu, wasm } = await onBoth(() =>
        tf.tidy(() => {
          const f = tf.tensor(v, shape);
          return [f, f.mul(10).round().toInt(), f.greater(0)].map((t) => {
            const out = tf.tile(t, reps);
            return { shape: out.shape, dtype: out.dtype, values: Array.from(out.dataSync()) };
          });
        }),
      );
      assert.deepEqual(wasm, cpu);
    });
  }

  it('gives the batch-norm input gradient of the cpu backend to 1e-4', async () => {
    const xv = seededValues(2 * 5 * 6 * 8, 3);
    const stats = [4, 5, 6, 7].map((s) => seededValues(8, s));
    const { cpu, wasm } = await onBoth(() =>
      tf.tidy(() => {
        const [mean, variance, offset, scale] = stats.map((s, i) => tf.tensor1d(i === 1 ? s.map((x) => x * x + 0.5) : s));
        const g = tf.grad((x: tf.Tensor) =>
          tf
            .batchNorm(x as tf.Tensor4D, mean!, variance!, offset, scale, 1e-3)
            .square()
            .sum(),
        );
        return g(tf.tensor(xv, [2, 5, 6, 8])).dataSync() as Float32Array;
      }),
    );
    assert.ok(relError(cpu, wasm) <= 1e-4);
  });

  it('does not leak tensors', () => {
    const x = tf.tensor([1, 2, 3, 4], [1, 4]);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) tf.tile(x, [5, 2]).dispose();
    assert.equal(tf.memory().numTensors, before);
    x.dispose();
  });
});

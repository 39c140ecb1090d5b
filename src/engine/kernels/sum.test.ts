/**
 * The wasm Sum override against the cpu backend: reductions over leading and middle axes
 * equal cpu's bit for bit (same order, double accumulators); innermost, full and
 * non-contiguous reductions, int32 and empty tensors take the stock kernel and stay close.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';

import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-wasm';

import { registerWasmGradientKernels, sumWasm } from './index.js';
import { seededValues } from '../../../test/kernel-support.js';

/** Seeded values with magnitudes spread over 1e-3..1e3, so the summation order shows. */
function values(n: number, seed: number): Float32Array {
  return seededValues(n, seed).map((v, i) => 0.5 * v * 10 ** ((i % 7) - 3));
}

interface SumCase {
  shape: number[];
  axis: number | number[] | null;
  keepDims: boolean;
  /** Whether the override handles it (else the stock kernel runs). */
  ours: boolean;
}

const CASES: SumCase[] = [
  // A conv layer's bias gradient: all but the channels.
  { shape: [6, 9, 9, 16], axis: [0, 1, 2], keepDims: false, ours: true },
  { shape: [6, 9, 9, 16], axis: [0, 1, 2], keepDims: true, ours: true },
  // A dense layer's bias gradient.
  { shape: [33, 10], axis: 0, keepDims: false, ours: true },
  { shape: [5, 6, 7, 8], axis: [1, 2], keepDims: false, ours: true },
  { shape: [5, 6, 7, 8], axis: [1, 2], keepDims: true, ours: true },
  { shape: [5, 6, 7, 8], axis: [0], keepDims: false, ours: true },
  { shape: [5, 6, 7, 8], axis: [2], keepDims: true, ours: true },
  { shape: [5, 6, 7, 8], axis: [-4, -3], keepDims: false, ours: true },
  { shape: [5, 6, 7, 8], axis: [1, 0], keepDims: false, ours: true },
  { shape: [1, 1, 3], axis: [0, 1], keepDims: false, ours: true },
  { shape: [4, 1], axis: [0], keepDims: false, ours: true },
  { shape: [5, 6, 7, 8], axis: [3], keepDims: false, ours: false },
  { shape: [5, 6, 7, 8], axis: [2, 3], keepDims: true, ours: false },
  { shape: [5, 6, 7, 8], axis: null, keepDims: false, ours: false },
  { shape: [5, 6, 7, 8], axis: [0, 2], keepDims: false, ours: false },
  { shape: [0, 4], axis: [0], keepDims: false, ours: false },
];

function describeCase(c: SumCase): string {
  return `[${c.shape}] axis ${JSON.stringify(c.axis)}${c.keepDims ? ' keepDims' : ''} (${c.ours ? 'ours' : 'stock'})`;
}

function run(c: SumCase, seed: number, dtype: 'float32' | 'int32' = 'float32'): { shape: number[]; data: Float32Array | Int32Array } {
  return tf.tidy(() => {
    const n = c.shape.reduce((p, d) => p * d, 1);
    const v = values(n, seed);
    const x =
      dtype === 'float32'
        ? tf.tensor(v, c.shape)
        : tf.tensor(
            Int32Array.from(v, (a) => Math.round(a * 10)),
            c.shape,
            'int32',
          );
    const y = tf.sum(x, c.axis ?? undefined, c.keepDims);
    return { shape: y.shape, data: y.dataSync() as Float32Array | Int32Array };
  }) as unknown as { shape: number[]; data: Float32Array | Int32Array };
}

before(async () => {
  registerWasmGradientKernels();
  await tf.setBackend('wasm');
  await tf.ready();
});

describe('Sum matches cpu', () => {
  CASES.forEach((c, i) => {
    it(describeCase(c), async () => {
      await tf.setBackend('cpu');
      const cpu = run(c, 10 + i);
      await tf.setBackend('wasm');
      const backend = tf.backend() as BackendWasm;
      const x = tf.zeros(c.shape);
      const handled = sumWasm({
        inputs: { x },
        backend,
        attrs: { axis: c.axis ?? undefined, keepDims: c.keepDims } as unknown as tf.NamedAttrMap,
      });
      assert.equal(handled !== undefined, c.ours, 'route');
      if (handled !== undefined) backend.disposeData(handled.dataId);
      x.dispose();
      const wasm = run(c, 10 + i);
      assert.deepEqual(wasm.shape, cpu.shape);
      if (c.ours) {
        // Same order, same double accumulators: identical bits.
        assert.deepEqual(wasm.data, cpu.data);
      } else {
        let diff = 0;
        let scale = 1;
        cpu.data.forEach((r, j) => {
          diff = Math.max(diff, Math.abs(r - wasm.data[j]!));
          scale = Math.max(scale, Math.abs(r));
        });
        assert.ok(diff / scale <= 1e-4, `relative error ${diff / scale}`);
      }
    });
  });

  it('leaves int32 sums to the stock kernel', async () => {
    const c: SumCase = { shape: [5, 6, 7], axis: [0, 1], keepDims: false, ours: false };
    await tf.setBackend('cpu');
    const cpu = run(c, 99, 'int32');
    await tf.setBackend('wasm');
    const wasm = run(c, 99, 'int32');
    assert.ok(wasm.data instanceof Int32Array);
    assert.deepEqual(wasm.data, cpu.data);
  });

  it('keeps tensors and wasm data ids stable', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as BackendWasm;
    const all = () => CASES.forEach((c, i) => run(c, 200 + i));
    all();
    const tensors = tf.memory().numTensors;
    const ids = backend.numDataIds();
    for (let i = 0; i < 3; i++) {
      all();
      assert.equal(tf.memory().numTensors, tensors);
      assert.equal(backend.numDataIds(), ids);
    }
  });
});

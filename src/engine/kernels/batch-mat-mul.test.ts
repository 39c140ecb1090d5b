/**
 * The wasm BatchMatMul and _FusedMatMul overrides against the cpu backend: plain and
 * batched products with every transpose combination on each route (fold into rows,
 * XNNPACK per slice, stock loop), fused bias and activations, gradients, weights that
 * change between calls (stale XNNPACK operators), and memory stability.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-wasm';

import { activeWasmGradientKernels, batchMatMulOptions, registerWasmGradientKernels } from './index.js';
import { clearTransposeCache } from './batch-mat-mul.js';
import { relError, seededValues } from '../../../test/kernel-support.js';
import { sizeOf } from '../../core/types.js';

const TOLERANCE = 1e-4;

function tensor(shape: number[], seed: number): tf.Tensor {
  return tf.tensor(seededValues(sizeOf(shape), seed), shape);
}

interface Result {
  shape: number[];
  data: Float32Array;
}

function result(t: tf.Tensor): Result {
  return { shape: t.shape, data: t.dataSync() as Float32Array };
}

/** Like `tf.tidy` for a function that returns plain results: every tensor it made is disposed. */
function scoped<T>(f: () => T): T {
  tf.engine().startScope();
  try {
    return f();
  } finally {
    tf.engine().endScope();
  }
}

/** Runs `f` on cpu and on wasm (with our kernels) and compares every output. */
async function assertSameOnBoth(f: () => Result[], label: string): Promise<void> {
  await tf.setBackend('cpu');
  const cpu = f();
  await tf.setBackend('wasm');
  const wasm = f();
  assert.equal(wasm.length, cpu.length);
  cpu.forEach((r, i) => {
    assert.deepEqual(wasm[i]!.shape, r.shape, `${label} [output ${i}] shape`);
    const err = relError(r.data, wasm[i]!.data);
    assert.ok(err <= TOLERANCE, `${label} [output ${i}]: relative error ${err.toExponential(2)} > ${TOLERANCE}`);
  });
}

interface MatMulCase {
  a: number[];
  b: number[];
  transposeA: boolean;
  transposeB: boolean;
}

/** [outer..., m, k] x [outer..., k, n] stored as the transposes ask. */
function matMulCase(
  outerA: number[],
  outerB: number[],
  m: number,
  k: number,
  n: number,
  transposeA: boolean,
  transposeB: boolean,
): MatMulCase {
  return {
    a: [...outerA, ...(transposeA ? [k, m] : [m, k])],
    b: [...outerB, ...(transposeB ? [n, k] : [k, n])],
    transposeA,
    transposeB,
  };
}

const TRANSPOSES: [boolean, boolean][] = [
  [false, false],
  [true, false],
  [false, true],
  [true, true],
];

function matMulCases(): MatMulCase[] {
  const cases: MatMulCase[] = [];
  for (const [ta, tb] of TRANSPOSES) {
    // 2-D, including the dense backward pass's shapes (scaled down) and degenerate sizes.
    cases.push(matMulCase([], [], 16, 40, 12, ta, tb));
    cases.push(matMulCase([], [], 1, 7, 5, ta, tb));
    cases.push(matMulCase([], [], 6, 1, 3, ta, tb));
    cases.push(matMulCase([], [], 5, 9, 1, ta, tb));
    // Rank 3 with batch 1, as the fused op and its gradient pass them.
    cases.push(matMulCase([1], [1], 9, 20, 11, ta, tb));
    // Right operand with batch 1: the left batch folds into rows.
    cases.push(matMulCase([3], [1], 7, 10, 6, ta, tb));
    cases.push(matMulCase([2, 3], [], 4, 10, 6, ta, tb));
    // Batched on both sides, and a left operand broadcast over the right batch.
    cases.push(matMulCase([4], [4], 24, 20, 28, ta, tb));
    cases.push(matMulCase([1], [3], 24, 20, 28, ta, tb));
    cases.push(matMulCase([2, 3], [2, 3], 5, 8, 7, ta, tb));
  }
  return cases;
}

function describeMatMul(c: MatMulCase): string {
  return `[${c.a}]${c.transposeA ? 'ᵀ' : ''} x [${c.b}]${c.transposeB ? 'ᵀ' : ''}`;
}

function matMulRun(c: MatMulCase, seed: number): () => Result[] {
  return () => scoped(() => [result(tf.matMul(tensor(c.a, seed), tensor(c.b, seed + 1), c.transposeA, c.transposeB))]);
}

function wasmBackend(): BackendWasm {
  return tf.findBackend('wasm') as BackendWasm;
}

const savedMinSliceMacs = batchMatMulOptions.minSliceMacs;

before(async () => {
  registerWasmGradientKernels();
  await tf.setBackend('wasm');
  await tf.ready();
});

after(() => {
  batchMatMulOptions.minSliceMacs = savedMinSliceMacs;
});

describe('registration', () => {
  it('registers BatchMatMul and _FusedMatMul with the gradient kernels', () => {
    const active = activeWasmGradientKernels();
    assert.ok(active.includes(tf.BatchMatMul));
    assert.ok(active.includes(tf._FusedMatMul));
  });
});

// Batched products run once per route: slices on XNNPACK (threshold 0) and on the stock
// loop (threshold Infinity).
for (const [route, threshold] of [
  ['batched slices on XNNPACK', 0],
  ['batched slices on the stock loop', Infinity],
] as const) {
  describe(`BatchMatMul matches cpu (${route})`, () => {
    before(() => {
      batchMatMulOptions.minSliceMacs = threshold;
    });
    after(() => {
      batchMatMulOptions.minSliceMacs = savedMinSliceMacs;
    });
    matMulCases().forEach((c, i) => {
      it(describeMatMul(c), async () => {
        await assertSameOnBoth(matMulRun(c, 10 + i), describeMatMul(c));
      });
    });
  });
}

describe('BatchMatMul gradients match cpu', () => {
  const cases = [
    matMulCase([], [], 32, 50, 16, false, false),
    matMulCase([], [], 32, 50, 16, true, true),
    matMulCase([2], [2], 6, 12, 8, false, true),
    matMulCase([4], [4], 12, 16, 10, true, false),
  ];
  cases.forEach((c, i) => {
    it(describeMatMul(c), async () => {
      await assertSameOnBoth(
        () =>
          scoped(() => {
            const a = tensor(c.a, 200 + i);
            const b = tensor(c.b, 300 + i);
            const g = tf.tidy(() => tensor(tf.matMul(a, b, c.transposeA, c.transposeB).shape, 400 + i));
            const [ga, gb] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.matMul(x, y, c.transposeA, c.transposeB).mul(g).sum())([a, b]);
            return [result(ga!), result(gb!)];
          }),
        describeMatMul(c),
      );
    });
  });
});

type Activation = 'linear' | 'relu' | 'relu6' | 'elu' | 'sigmoid' | 'leakyrelu' | 'prelu';
const ACTIVATIONS: Activation[] = ['linear', 'relu', 'relu6', 'elu', 'sigmoid', 'leakyrelu', 'prelu'];

interface FusedCase extends MatMulCase {
  bias: number[] | undefined;
  activation: Activation;
}

function fusedCases(): FusedCase[] {
  const cases: FusedCase[] = [];
  const shapes: [number[], number[], number, number, number][] = [
    [[], [], 12, 20, 10],
    [[3], [], 5, 20, 10],
    [[3], [3], 12, 20, 10],
    [[1], [3], 12, 20, 10],
  ];
  let i = 0;
  for (const [outerA, outerB, m, k, n] of shapes) {
    for (const [ta, tb] of TRANSPOSES) {
      // One value per column (XNNPACK applies it), none, a broadcast single value, and a
      // per-element bias (both added after the product).
      for (const bias of [[n], undefined, [1], [m, n]]) {
        cases.push({ ...matMulCase(outerA, outerB, m, k, n, ta, tb), bias, activation: ACTIVATIONS[i % ACTIVATIONS.length]! });
        i++;
      }
    }
  }
  return cases;
}

function describeFused(c: FusedCase): string {
  return `${describeMatMul(c)} bias ${c.bias === undefined ? 'none' : `[${c.bias}]`} ${c.activation}`;
}

describe('_FusedMatMul matches cpu', () => {
  fusedCases().forEach((c, i) => {
    it(describeFused(c), async () => {
      await assertSameOnBoth(
        () =>
          scoped(() => {
            const n = c.transposeB ? c.b[c.b.length - 2]! : c.b[c.b.length - 1]!;
            const out = tf.fused.matMul({
              a: tensor(c.a, 500 + i),
              b: tensor(c.b, 600 + i),
              transposeA: c.transposeA,
              transposeB: c.transposeB,
              bias: c.bias === undefined ? undefined : tensor(c.bias, 700 + i),
              activation: c.activation,
              preluActivationWeights: c.activation === 'prelu' ? tensor([n], 800 + i) : undefined,
              leakyreluAlpha: 0.15,
            });
            return [result(out)];
          }),
        describeFused(c),
      );
    });
  });

  it('a dense layer: forward, and one SGD step of its weights', async () => {
    await assertSameOnBoth(() => {
      const layer = tf.layers.dense({ units: 12, activation: 'relu', inputShape: [30] });
      const model = tf.sequential({ layers: [layer] });
      model.setWeights(model.getWeights().map((w, i) => tensor(w.shape, 900 + i)));
      const x = tensor([17, 30], 950);
      const forward = scoped(() => result(model.apply(x) as tf.Tensor));
      const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
      const optimizer = tf.train.sgd(0.5);
      optimizer.minimize(() => (model.apply(x) as tf.Tensor).square().mean() as tf.Scalar, false, vars);
      const weights = model.getWeights().map(result);
      optimizer.dispose();
      model.dispose();
      x.dispose();
      return [forward, ...weights];
    }, 'dense layer');
  });
});

describe('no stale XNNPACK operators', () => {
  it('gives fresh results when a weight changes between transposed products', async () => {
    await assertSameOnBoth(() => {
      const w = tf.variable(tensor([40, 16], 1000));
      const dy = tensor([8, 16], 1001);
      const x = tensor([8, 40], 1002);
      const out: Result[] = [];
      for (let step = 0; step < 3; step++) {
        out.push(scoped(() => result(tf.matMul(dy, w, false, true))));
        out.push(scoped(() => result(tf.matMul(x, w))));
        out.push(scoped(() => result(tf.fused.matMul({ a: x, b: w, bias: tf.ones([16]), activation: 'relu' }))));
        w.assign(tf.tidy(() => w.mul(-1.5).add(0.25)));
      }
      tf.dispose([w, dy, x]);
      return out;
    }, 'changing weight');
  });

  it('gives fresh results for equal-shaped transposed operands with new values', async () => {
    batchMatMulOptions.minSliceMacs = 0;
    try {
      await assertSameOnBoth(
        () =>
          [0, 1, 2, 3].map((s) =>
            scoped(() => {
              const batched = tf.matMul(tensor([2, 6, 20], 1100 + s), tensor([2, 9, 20], 1200 + s), false, true);
              return result(tf.matMul(tensor([20, 6], 1300 + s), tensor([9, 20], 1400 + s), true, true).add(batched.sum(0)));
            }),
          ),
        'new values',
      );
    } finally {
      batchMatMulOptions.minSliceMacs = savedMinSliceMacs;
    }
  });
});

describe('transposed right operands are cached while their source lives', () => {
  it('reuses the transpose of an unchanged weight, frees it once the weight is disposed, and keeps at most transposeCacheSize', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as BackendWasm;
    clearTransposeCache(backend);
    const w = tensor([40, 16], 1500);
    const dy = tensor([8, 16], 1501);
    const before = backend.numDataIds();
    const first = scoped(() => result(tf.matMul(dy, w, false, true)));
    assert.equal(backend.numDataIds(), before + 1, 'one cached transpose');
    const again = scoped(() => result(tf.matMul(dy, w, false, true)));
    assert.equal(backend.numDataIds(), before + 1, 'the second product reuses it');
    assert.deepEqual(again, first);
    const expected = await (async () => {
      await tf.setBackend('cpu');
      const r = scoped(() => result(tf.matMul(tensor([8, 16], 1501), tensor([40, 16], 1500), false, true)));
      await tf.setBackend('wasm');
      return r;
    })();
    assert.ok(relError(expected.data, first.data) <= TOLERANCE);

    w.dispose();
    const other = tensor([40, 16], 1502);
    scoped(() => result(tf.matMul(dy, other, false, true)));
    assert.equal(backend.numDataIds(), before + 1, "the disposed weight's transpose was freed, the new one cached");

    const saved = batchMatMulOptions.transposeCacheSize;
    batchMatMulOptions.transposeCacheSize = 2;
    try {
      const weights = [0, 1, 2, 3].map((i) => tensor([40, 16], 1510 + i));
      for (const wi of weights) scoped(() => result(tf.matMul(dy, wi, false, true)));
      assert.equal(backend.numDataIds(), before + 4 + 2, 'four weights, two cached transposes');
      tf.dispose(weights);
    } finally {
      batchMatMulOptions.transposeCacheSize = saved;
      clearTransposeCache(backend);
      tf.dispose([dy, other]);
    }
    assert.equal(backend.numDataIds(), before - 2);
  });
});

describe('memory', () => {
  it('keeps tensors and wasm data ids stable across repeated products', async () => {
    await tf.setBackend('wasm');
    const runs = [
      ...matMulCases().map((c, i) => matMulRun(c, 2000 + i)),
      ...fusedCases().map(
        (c, i) => () =>
          scoped(() => {
            const n = c.transposeB ? c.b[c.b.length - 2]! : c.b[c.b.length - 1]!;
            const out = tf.fused.matMul({
              a: tensor(c.a, 3000 + i),
              b: tensor(c.b, 3100 + i),
              transposeA: c.transposeA,
              transposeB: c.transposeB,
              bias: c.bias === undefined ? undefined : tensor(c.bias, 3200 + i),
              activation: c.activation,
              preluActivationWeights: c.activation === 'prelu' ? tensor([n], 3300 + i) : undefined,
            });
            return [result(out)];
          }),
      ),
    ];
    const runAll = () => {
      for (const threshold of [0, Infinity]) {
        batchMatMulOptions.minSliceMacs = threshold;
        runs.forEach((r) => r());
      }
      batchMatMulOptions.minSliceMacs = savedMinSliceMacs;
    };
    runAll();
    const tensors = tf.memory().numTensors;
    const dataIds = wasmBackend().numDataIds();
    for (let i = 0; i < 3; i++) {
      runAll();
      assert.equal(tf.memory().numTensors, tensors, `numTensors after run ${i + 1}`);
      assert.equal(wasmBackend().numDataIds(), dataIds, `numDataIds after run ${i + 1}`);
    }
  });
});

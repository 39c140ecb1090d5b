/**
 * Batch norm on the wasm SIMD route against the cpu backend (the reference semantics):
 * the inference kernel (FusedBatchNorm), and a BatchNormalization layer in training mode
 * (output, moving statistics, gradients for x, gamma and beta through the batch
 * statistics), over ranks, channel counts and input scales; the fallbacks; memory.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';

import * as tf from '@tensorflow/tfjs';

import { relError, seededValues } from '../../test/kernel-support.js';
import { initEngine } from './backend.js';
import { installBatchNormGradient, uninstallBatchNormGradient } from './batch-norm-gradient.js';
import { BATCH_NORM_GRAD, BATCH_NORM_MOMENTS } from './kernels/batch-norm.js';
import { batchNormTrainingSupported, installBatchNormTraining, uninstallBatchNormTraining } from './batch-norm-training.js';

const TOLERANCE = 1e-4;

async function onCpu<T>(f: () => T): Promise<T> {
  await tf.setBackend('cpu');
  try {
    return f();
  } finally {
    await tf.setBackend('wasm');
  }
}

function assertClose(ref: Float32Array, got: Float32Array, label: string): void {
  const err = relError(ref, got);
  assert.ok(err <= TOLERANCE, `${label}: relative error ${err.toExponential(2)} > ${TOLERANCE}`);
}

interface Case {
  shape: number[];
  /** Added to the input, to check precision when the mean is large against the spread. */
  shift: number;
}

const CASES: Case[] = [
  { shape: [4, 8, 8, 16], shift: 0 },
  { shape: [3, 5, 7, 8], shift: 0 },
  { shape: [2, 4, 4, 4], shift: 100 },
  { shape: [16, 12], shift: 0 },
  { shape: [2, 3, 6, 32], shift: -3 },
  { shape: [64, 32, 32, 16], shift: 0.5 },
  { shape: [1, 1, 1, 4], shift: 0 },
];

/** y, moving mean, moving variance, dx, dgamma, dbeta of one training-mode call on the current backend. */
function layerTraining(c: Case, seed: number): Float32Array[] {
  const channels = c.shape[c.shape.length - 1]!;
  const n = c.shape.reduce((a, b) => a * b, 1);
  const layer = tf.layers.batchNormalization({ axis: -1, momentum: 0.9, epsilon: 1e-5 });
  layer.build(c.shape);
  const out = tf.tidy(() => {
    layer.setWeights([
      tf.tensor1d(seededValues(channels, seed).map((v) => 1 + 0.5 * v)),
      tf.tensor1d(seededValues(channels, seed + 1)),
      tf.tensor1d(seededValues(channels, seed + 2)),
      tf.tensor1d(seededValues(channels, seed + 3).map((v) => 1.5 + v)),
    ]);
    const x = tf.tensor(seededValues(n, seed + 4), c.shape).add(c.shift);
    const g = tf.tensor(seededValues(n, seed + 5), c.shape);
    const [gamma, beta] = layer.trainableWeights.map((w) => w.read());
    const f = (a: tf.Tensor, gm: tf.Tensor, bt: tf.Tensor) => {
      // Grads for gamma and beta come through the layer's variables, so apply with them
      // written in (their values are unchanged by the write).
      void gm;
      void bt;
      return (layer.apply(a, { training: true }) as tf.Tensor).mul(g).sum();
    };
    const y = layer.apply(x, { training: true }) as tf.Tensor;
    const moving = layer.getWeights().slice(2);
    const { grads } = tf.variableGrads(
      () => f(x, gamma!, beta!) as tf.Scalar,
      layer.trainableWeights.map((w) => w.read() as tf.Variable),
    );
    const dx = tf.grad((a: tf.Tensor) => f(a, gamma!, beta!))(x);
    const [dgamma, dbeta] = layer.trainableWeights.map((w) => grads[(w.read() as tf.Variable).name]!);
    return [y, ...moving, dx, dgamma!, dbeta!].map((t) => t.dataSync() as Float32Array);
  });
  for (const w of layer.weights) w.dispose(); // layer.dispose() refuses a layer never applied symbolically
  return out;
}

before(async () => {
  await initEngine({ backend: 'wasm' });
});

describe('FusedBatchNorm (inference) on wasm matches cpu', () => {
  for (const c of [...CASES, { shape: [2, 5, 5, 3], shift: 0 }]) {
    for (const withAffine of [true, false]) {
      it(`[${c.shape}] shift ${c.shift}${withAffine ? '' : ', no scale or offset'}`, async () => {
        const channels = c.shape[c.shape.length - 1]!;
        const n = c.shape.reduce((a, b) => a * b, 1);
        const run = () =>
          tf.tidy(() => {
            const x = tf.tensor(seededValues(n, 7), c.shape).add(c.shift);
            const mean = tf.tensor1d(seededValues(channels, 8)).add(c.shift);
            const variance = tf.tensor1d(seededValues(channels, 9).map((v) => 1.2 + v));
            const scale = withAffine ? tf.tensor1d(seededValues(channels, 10)) : undefined;
            const offset = withAffine ? tf.tensor1d(seededValues(channels, 11)) : undefined;
            return tf.batchNorm(x, mean, variance, offset, scale, 1e-3).dataSync() as Float32Array;
          });
        assertClose(await onCpu(run), run(), `[${c.shape}]`);
      });
    }
  }
});

describe('the lazy FusedBatchNorm gradient matches tfjs-core’s (on cpu)', () => {
  for (const c of [CASES[0]!, CASES[2]!, CASES[3]!, { shape: [2, 5, 5, 3], shift: 0 }]) {
    it(`[${c.shape}] shift ${c.shift}: x, mean, variance, scale, offset`, async () => {
      const channels = c.shape[c.shape.length - 1]!;
      const n = c.shape.reduce((a, b) => a * b, 1);
      const run = () =>
        tf.tidy(() => {
          const x = tf.tensor(seededValues(n, 17), c.shape).add(c.shift);
          const mean = tf.tensor1d(seededValues(channels, 18)).add(c.shift);
          const variance = tf.tensor1d(seededValues(channels, 19).map((v) => 1.2 + v));
          const scale = tf.tensor1d(seededValues(channels, 20));
          const offset = tf.tensor1d(seededValues(channels, 21));
          const g = tf.tensor(seededValues(n, 22), c.shape);
          const f = (...a: tf.Tensor[]) => tf.batchNorm(a[0]!, a[1]!, a[2]!, a[4]!, a[3]!, 1e-3).mul(g).sum();
          return tf
            .grads(f)([x, mean, variance, scale, offset])
            .map((t) => t.dataSync() as Float32Array);
        });
      uninstallBatchNormGradient();
      let ref: Float32Array[];
      try {
        ref = await onCpu(run);
      } finally {
        installBatchNormGradient();
      }
      const onCpuLazy = await onCpu(run);
      const onWasm = run();
      ref.forEach((r, k) => {
        assertClose(r, onCpuLazy[k]!, `cpu, input ${k}`);
        assertClose(r, onWasm[k]!, `wasm, input ${k}`);
      });
    });
  }
});

describe('BatchNormalization in training mode on wasm matches cpu', () => {
  const names = ['y', 'moving mean', 'moving variance', 'dx', 'dgamma', 'dbeta'];
  CASES.forEach((c, i) => {
    it(`[${c.shape}] shift ${c.shift}`, async () => {
      const ref = await onCpu(() => layerTraining(c, 40 + i));
      const got = layerTraining(c, 40 + i);
      ref.forEach((r, k) => assertClose(r, got[k]!, `[${c.shape}] ${names[k]}`));
    });
  });

  it('takes the fused route where it applies, the layer’s own elsewhere', async () => {
    const kernelsOf = async (shape: number[]) => (await tf.profile(() => layerTraining({ shape, shift: 0 }, 5))).kernels.map((k) => k.name);
    const fused = await kernelsOf([2, 4, 4, 8]);
    assert.ok(fused.includes(BATCH_NORM_MOMENTS) && fused.includes(BATCH_NORM_GRAD), 'fused kernels ran');
    assert.ok(!fused.includes(tf.Square), 'no op-by-op moments');
    const own = await kernelsOf([2, 4, 4, 3]);
    assert.ok(!own.includes(BATCH_NORM_MOMENTS) && own.includes(tf.Square), 'the layer’s own moments for 3 channels');
    tf.tidy(() => {
      assert.equal(batchNormTrainingSupported(tf.zeros([2, 4, 4, 8])), true);
      assert.equal(batchNormTrainingSupported(tf.zeros([2, 4, 4, 3])), false);
      assert.equal(batchNormTrainingSupported(tf.zeros([2, 4, 4, 8], 'int32')), false);
    });
  });

  it('falls back for 3 channels and without the patch, with the same numbers', async () => {
    const c: Case = { shape: [2, 5, 5, 3], shift: 1 };
    const ref = await onCpu(() => layerTraining(c, 90));
    layerTraining(c, 90).forEach((g, k) => assertClose(ref[k]!, g, `3 channels: ${names[k]}`));
    uninstallBatchNormTraining();
    try {
      const d: Case = { shape: [2, 4, 4, 8], shift: 0 };
      const refD = await onCpu(() => layerTraining(d, 91));
      layerTraining(d, 91).forEach((g, k) => assertClose(refD[k]!, g, `unpatched: ${names[k]}`));
    } finally {
      installBatchNormTraining();
    }
  });

  it('does not leak tensors', () => {
    const c = CASES[1]!;
    layerTraining(c, 1);
    const before = tf.memory().numTensors;
    layerTraining(c, 1);
    layerTraining(c, 2);
    assert.equal(tf.memory().numTensors, before);
  });
});

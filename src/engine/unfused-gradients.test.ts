/** Gradient unfusing: same values as the fused ops, and no filter gradient for an input gradient. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

import { relError, seededValues } from '../../test/kernel-support.js';
import { registerWasmGradientKernels } from './kernels/index.js';
import { gradientUnfusingActive, installGradientUnfusing, uninstallGradientUnfusing } from './unfused-gradients.js';

before(async () => {
  registerWasmGradientKernels();
  await tf.setBackend('wasm');
  await tf.ready();
});
after(() => uninstallGradientUnfusing());

function layerGradients(): { input: Float32Array; weights: Float32Array[]; kernels: Promise<string[]> } {
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [6, 6, 3], filters: 4, kernelSize: 3, strides: 2, useBias: true, kernelInitializer: 'ones' }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 3, kernelInitializer: 'ones' }),
    ],
  });
  model.setWeights(model.getWeights().map((w, i) => tf.tensor(seededValues(w.size, 10 + i), w.shape)));
  const x = tf.tensor(seededValues(2 * 6 * 6 * 3, 1), [2, 6, 6, 3]);
  const f = (input: tf.Tensor) => (model.apply(input) as tf.Tensor).square().sum() as tf.Scalar;
  const input = tf.tidy(() => tf.grad(f)(x).dataSync() as Float32Array);
  const { grads } = tf.variableGrads(() => f(x));
  const weights = model.trainableWeights.map((w) => grads[(w.read() as tf.Variable).name]!.dataSync() as Float32Array);
  const kernels = tf.profile(() => tf.grad(f)(x)).then((p) => p.kernels.map((k) => k.name));
  tf.dispose(grads);
  model.dispose();
  x.dispose();
  return { input, weights, kernels };
}

describe('gradient unfusing', () => {
  it('gives the fused ops\u2019 gradients and computes no filter gradient for an input gradient', async () => {
    uninstallGradientUnfusing();
    const fused = layerGradients();
    assert.ok((await fused.kernels).includes('Conv2DBackpropFilter'), 'the fused op computes the filter gradient');
    installGradientUnfusing();
    assert.ok(gradientUnfusingActive());
    const plain = layerGradients();
    assert.ok(!(await plain.kernels).includes('Conv2DBackpropFilter'), 'unfused: pruned');
    assert.ok(relError(fused.input, plain.input) <= 1e-6);
    fused.weights.forEach((w, i) => assert.ok(relError(w, plain.weights[i]!) <= 1e-6, `weight ${i}`));
  });

  it('leaves inference on the fused op and is undone by uninstall', () => {
    installGradientUnfusing();
    const patched = tf.fused.conv2d;
    installGradientUnfusing();
    assert.equal(tf.fused.conv2d, patched, 'idempotent');
    uninstallGradientUnfusing();
    assert.notEqual(tf.fused.conv2d, patched);
    assert.equal(gradientUnfusingActive(), false);
  });
});

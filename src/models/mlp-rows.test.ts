import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { buildModel } from './architectures.js';
import { engine } from '../../test/fixtures.js';

test('mlp takes 1-D rows, and standardize is a frozen (x - mean) / std first layer', async () => {
  await engine();
  const before = tf.memory().numTensors;
  const model = buildModel('mlp', { inputShape: [3], numClasses: 2, seed: 1, standardize: { mean: [10, 0, -5], std: [2, 1, 0.5] } });
  const layer = model.getLayer('standardize');
  assert.equal(layer.trainable, false);
  assert.equal(model.trainableWeights.length, 6, 'only the three dense layers train');
  const out = tf.tidy(() => layer.apply(tf.tensor2d([[12, 3, -4]])) as tf.Tensor);
  assert.deepEqual(Array.from(await out.data()), [1, 3, 2]);
  out.dispose();
  model.dispose();
  assert.equal(tf.memory().numTensors, before);
  assert.throws(
    () => buildModel('mlp', { inputShape: [3], numClasses: 2, seed: 1, standardize: { mean: [0, 0], std: [1, 1, 0] } }),
    (e: Error & { code?: string }) => e.code === 'E_ARCHITECTURE_OPTION',
  );
});

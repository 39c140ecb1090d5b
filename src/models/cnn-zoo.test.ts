/** The CIFAR-shaped nets: shapes, the layers they are made of, named weight loading and its errors. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import * as tf from '@tensorflow/tfjs';

import { UsageError } from '../core/errors.js';
import { buildCnnZooModel, CNN_ZOO, setNamedWeights } from './cnn-zoo.js';

const OPTIONS = { inputShape: [32, 32, 3] as const, numClasses: 10, seed: 1 };

describe('cnn zoo', () => {
  for (const id of CNN_ZOO) {
    it(`${id}: logits [batch, classes], seeded, in training mode too`, () => {
      const a = buildCnnZooModel(id, OPTIONS);
      const b = buildCnnZooModel(id, OPTIONS);
      const x = tf.randomUniform([2, 32, 32, 3], 0, 1, 'float32', 3);
      const ya = a.apply(x) as tf.Tensor;
      const yb = b.apply(x) as tf.Tensor;
      const yt = a.apply(x, { training: true }) as tf.Tensor;
      assert.deepEqual(ya.shape, [2, 10]);
      assert.deepEqual(Array.from(ya.dataSync()), Array.from(yb.dataSync()), 'same seed, same weights');
      assert.deepEqual(yt.shape, [2, 10]);
      tf.dispose([x, ya, yb, yt]);
      a.dispose();
      b.dispose();
    });
  }

  it('resnet20 has 20 weighted layers on the main path, strided stages and batch norm', () => {
    const m = buildCnnZooModel('resnet20', OPTIONS);
    const convs = m.layers.filter((l) => l.getClassName() === 'Conv2D' && !l.name.endsWith('_short'));
    assert.equal(convs.length + 1, 20, '19 convolutions + the dense layer');
    assert.equal(m.layers.filter((l) => l.getClassName() === 'Add').length, 9);
    assert.ok(m.layers.some((l) => l.getClassName() === 'BatchNormalization'));
    const shapes = ['s1b3', 's2b3', 's3b3'].map((p) => (m.getLayer(`${p}_conv2`).outputShape as number[]).slice(1));
    assert.deepEqual(shapes, [
      [32, 32, 16],
      [16, 16, 32],
      [8, 8, 64],
    ]);
    m.dispose();
  });

  it('setNamedWeights loads by name and names a missing or misshapen weight', () => {
    const m = buildCnnZooModel('mobilenet-lite', OPTIONS);
    const byName = new Map(
      m.weights.map((w) => [
        w.originalName,
        { shape: w.shape as number[], values: new Float32Array((w.shape as number[]).reduce((p, d) => p * d, 1)).fill(0.5) },
      ]),
    );
    setNamedWeights(m, byName);
    assert.equal(m.getLayer('fc').getWeights()[0]!.dataSync()[0], 0.5);
    byName.set('d1_dw/depthwise_kernel', { shape: [3, 3, 32, 2], values: new Float32Array(576) });
    assert.throws(
      () => setNamedWeights(m, byName),
      (e: unknown) => e instanceof UsageError && e.code === 'E_WEIGHTS_MISMATCH' && /d1_dw\/depthwise_kernel/.test(e.message),
    );
    byName.set('d1_dw/depthwise_kernel', { shape: [3, 3, 32, 1], values: new Float32Array(288) });
    byName.delete('fc/bias');
    assert.throws(
      () => setNamedWeights(m, byName),
      (e: unknown) => e instanceof UsageError && /fc\/bias is missing/.test(e.message),
    );
    m.dispose();
  });

  it('rejects an unknown id, listing the valid ones', () => {
    assert.throws(
      () => buildCnnZooModel('vgg', OPTIONS),
      (e: unknown) => e instanceof UsageError && e.code === 'E_UNKNOWN_ARCHITECTURE' && /resnet20/.test(e.message),
    );
  });
});

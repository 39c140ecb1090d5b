import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { engine, linearModel } from '../../test/fixtures.js';
import type { InputError } from '../core/errors.js';
import { inferLayout, isIdentityPreprocessing, PreprocessedClassifier, withPreprocessing } from './preprocess.js';

before(engine);

test('inferLayout: equal shapes are nhwc, a channels-first permutation is nchw, anything else unknown', () => {
  assert.equal(inferLayout([28, 28, 1], [28, 28, 1]), 'nhwc');
  assert.equal(inferLayout([3, 32, 32], [32, 32, 3]), 'nchw');
  assert.equal(inferLayout([3, 32, 32], [28, 28, 1]), undefined);
  assert.equal(inferLayout([10], [10]), 'nhwc');
});

test('scale, mean and std apply per feature (last axis) inside the gradient; identity preprocessing is no wrapper', () => {
  const inner = linearModel(
    [
      [1, 0],
      [0, 1],
    ],
    [0, 0],
  );
  assert.equal(withPreprocessing(inner, { layout: 'nhwc', scale: 1 }), inner);
  assert.ok(isIdentityPreprocessing(undefined));
  const model = new PreprocessedClassifier(inner, { scale: 2, mean: [1, 0], std: [4, 0.5] });
  const x = tf.tensor2d([[0.5, 0.25]]);
  const logits = tf.tidy(() => model.logits(x));
  assert.deepEqual([...logits.dataSync()], [(0.5 * 2 - 1) / 4, (0.25 * 2) / 0.5]);
  // d logits[1] / d x[1] = scale / std = 4: epsilon stays in data units.
  const g = tf.tidy(() => tf.grad((t: tf.Tensor) => tf.sum(tf.slice(model.logits(t), [0, 1], [1, 1])))(x));
  assert.deepEqual([...g.dataSync()], [0, 4]);
  tf.dispose([x, logits, g]);
  model.dispose();
  assert.throws(
    () => new PreprocessedClassifier(inner, { std: [1, 0] }),
    (e: InputError) => e.code === 'E_PREPROCESS',
  );
  inner.model.dispose();
});

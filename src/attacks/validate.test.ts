import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { createAttack } from './registry.js';
import { threatModel } from '../threats/threat-model.js';
import { engine, trainedMlp } from '../../test/fixtures.js';
import { GradientError, InputError } from '../core/errors.js';
import type { Classifier } from '../models/classifier.js';

before(engine);

const threat = threatModel({ norm: 'linf', epsilon: 0.1 });

async function rejectsWith(x: tf.Tensor, labels: Int32Array, code: string, pattern: RegExp, model?: Classifier): Promise<void> {
  const target = model ?? (await trainedMlp());
  const before = tf.memory().numTensors;
  await assert.rejects(createAttack('pgd', { steps: 2 }).run(target, x, labels, threat), (e: unknown) =>
    e instanceof InputError || e instanceof GradientError ? e.code === code && pattern.test(e.message) : false,
  );
  x.dispose();
  assert.equal(tf.memory().numTensors, before - 1, 'a rejected call leaks nothing');
}

test('wrong shape names both shapes', async () => {
  await rejectsWith(tf.zeros([2, 28, 28]), new Int32Array(2), 'E_INPUT_SHAPE', /\[2, 28, 28\].*\[batch, 28, 28, 1\]/);
});

test('NaN inputs are refused', async () => {
  const values = new Float32Array(2 * 784).fill(0.5);
  values[7] = NaN;
  await rejectsWith(tf.tensor(values, [2, 28, 28, 1]), new Int32Array(2), 'E_NON_FINITE', /NaN/);
});

test('inputs outside the bounds are refused', async () => {
  await rejectsWith(tf.fill([2, 28, 28, 1], 255), new Int32Array(2), 'E_OUT_OF_BOUNDS', /\[255, 255\].*\[0, 1\]/);
});

test('labels must match the batch and the classes', async () => {
  await rejectsWith(tf.zeros([2, 28, 28, 1]), new Int32Array(3), 'E_LABELS_LENGTH', /3 label.*batch of 2/);
  await rejectsWith(tf.zeros([2, 28, 28, 1]), Int32Array.from([0, 12]), 'E_LABEL_RANGE', /0\.\.9/);
});

test('a white-box attack refuses a model without gradients', async () => {
  const base = await trainedMlp();
  const blackBox: Classifier = {
    ...base,
    id: 'black-box',
    inputShape: base.inputShape,
    numClasses: base.numClasses,
    bounds: base.bounds,
    differentiable: false,
    logits: (x) => base.logits(x),
  };
  await rejectsWith(tf.zeros([1, 28, 28, 1]), new Int32Array(1), 'E_NOT_DIFFERENTIABLE', /black-box attack/, blackBox);
});

test('NaN gradients are reported, not silently used', async () => {
  const base = await trainedMlp();
  const broken: Classifier = {
    ...base,
    id: 'nan-model',
    inputShape: base.inputShape,
    numClasses: base.numClasses,
    bounds: base.bounds,
    differentiable: true,
    logits: (x) => tf.mul(base.logits(x), tf.sqrt(tf.scalar(-1))),
  };
  await rejectsWith(tf.fill([1, 28, 28, 1], 0.5), new Int32Array(1), 'E_GRADIENT_NONFINITE', /NaN or infinite input gradients/, broken);
});

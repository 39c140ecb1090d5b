/**
 * Adversarial training of an imported ONNX model: the trainable copy starts with the same
 * logits and gradients as the imported graph (BatchNormalization and grouped, dilated convs
 * included), PGD-AT through the trainer updates its weights with the tensor count flat, and
 * the exported ONNX file holds the trained weights (re-imported, same logits; onnxruntime agrees).
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { engine, smallMnist } from './fixtures.js';
import { maxAbsDiff, runOrt, values } from './onnx-builder.js';
import { ONNX_FIXTURES } from './onnx-native.js';
import { importOnnx, type OnnxSource } from '../src/models/onnx/index.js';
import { exportOnnxWeights, trainableOnnx } from '../src/models/onnx/trainable.js';
import { TfjsClassifier } from '../src/models/tfjs-classifier.js';
import { trainModel } from '../src/training/trainer.js';
import { createObjective } from '../src/training/objectives/registry.js';
import { takeFirst } from '../src/data/index.js';

before(engine);

function source(name: string, preprocess?: OnnxSource['preprocess']): OnnxSource {
  const path = join(ONNX_FIXTURES, `${name}.onnx`);
  return { bytes: readFileSync(path), path, id: name, ...(preprocess ? { preprocess } : {}) };
}

test('the trainable copy of the CIFAR ResNet has the imported graph’s logits and input gradients', async () => {
  const src = source('cifar-resnet', { layout: 'nchw', mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] });
  const imported = importOnnx(src);
  const trainable = trainableOnnx(src);
  try {
    const copy = new TfjsClassifier(trainable.model, { id: 'copy' });
    assert.deepEqual([copy.inputShape, copy.numClasses], [[32, 32, 3], 10]);
    assert.ok(
      trainable.variables.some((v) => !v.trainable),
      'BatchNormalization statistics are not trained',
    );
    const x = tf.randomUniform([2, 32, 32, 3], 0, 1, 'float32', 4);
    const a = await values(tf.tidy(() => imported.classifier.logits(x)));
    const b = await values(tf.tidy(() => copy.logits(x)));
    assert.ok(maxAbsDiff(a, b) < 1e-4, `logits differ by ${maxAbsDiff(a, b)}`);
    const ga = await values(tf.tidy(() => tf.grad((t: tf.Tensor) => tf.sum(imported.classifier.logits(t)))(x)));
    const gb = await values(tf.tidy(() => tf.grad((t: tf.Tensor) => tf.sum(copy.logits(t)))(x)));
    assert.ok(maxAbsDiff(ga, gb) < 1e-4, `gradients differ by ${maxAbsDiff(ga, gb)}`);
    x.dispose();
  } finally {
    imported.dispose();
    trainable.dispose();
  }
});

test('PGD adversarial training updates the imported MNIST CNN; the exported ONNX holds the trained weights', async () => {
  const src = source('mnist-cnn', { layout: 'nchw' });
  const trainable = trainableOnnx(src);
  try {
    const before = await values(trainable.variables[0]!.read().clone());
    const train = takeFirst(smallMnist().train, 128);
    const objective = createObjective('pgd-at', { threat: { norm: 'linf', epsilon: 0.1 }, steps: 2 });
    const tensors = tf.memory().numTensors;
    const report = await trainModel({
      model: trainable.model,
      train,
      epochs: 1,
      batchSize: 64,
      optimizer: 'adam',
      learningRate: 1e-3,
      seed: 1,
      objective,
    });
    assert.equal(report.epochs.length, 1);
    assert.ok(Number.isFinite(report.epochs[0]!.loss));
    assert.ok(tf.memory().numTensors <= tensors + 2 * trainable.variables.length, 'only optimizer slots are added');
    const after = await values(trainable.variables[0]!.read().clone());
    assert.ok(maxAbsDiff(before, after) > 1e-4, 'the first conv kernel changed');

    const bytes = exportOnnxWeights(src, trainable);
    const reimported = importOnnx({ ...src, bytes });
    try {
      const data = takeFirst(smallMnist().test, 8);
      const x = tf.tensor(data.x, [8, 28, 28, 1]);
      const trained = new TfjsClassifier(trainable.model);
      const a = await values(tf.tidy(() => trained.logits(x)));
      const b = await values(tf.tidy(() => reimported.classifier.logits(x)));
      assert.ok(maxAbsDiff(a, b) < 1e-4, `re-imported logits differ by ${maxAbsDiff(a, b)}`);
      const nchw = await values(tf.tidy(() => tf.transpose(x, [0, 3, 1, 2])));
      const ort = await runOrt(bytes, nchw, [8, 1, 28, 28]);
      assert.ok(maxAbsDiff(a, ort.data) < 1e-4, 'onnxruntime runs the exported file with the same weights');
      x.dispose();
    } finally {
      reimported.dispose();
    }
  } finally {
    trainable.dispose();
  }
});

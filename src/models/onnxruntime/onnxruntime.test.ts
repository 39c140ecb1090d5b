/**
 * The onnxruntime score target: scores match the imported graph's, every row is one counted
 * query whatever the chunking, preprocessing runs on the host as the white-box wrapper runs
 * it in TF.js, `logits` refuses with E_NOT_WHITE_BOX, and a black-box attack runs on it.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { engine } from '../../../test/fixtures.js';
import { maxAbsDiff, randomValues, values } from '../../../test/onnx-builder.js';
import type { RampartError } from '../../core/errors.js';
import { accessOf } from '../classifier.js';
import { loadOnnxModel } from '../onnx/index.js';
import { square } from '../../attacks/image/square.js';
import { pgd } from '../../attacks/image/pgd.js';
import { threatModel } from '../../threats/threat-model.js';
import { loadOnnxRuntimeModel } from './index.js';
import type { OnnxRuntimeClassifier } from './classifier.js';

before(engine);

const FIXTURES = join(import.meta.dirname, '..', '..', '..', 'fixtures', 'onnx');
const preprocess = { layout: 'nchw' as const, mean: [0.5, 0.4, 0.3], std: [0.2, 0.25, 0.3], scale: 1.5 };

test('scores equal the imported graph softmax, in chunks, each row counted once', async () => {
  const path = join(FIXTURES, 'cifar-resnet.onnx');
  const ort = await loadOnnxRuntimeModel({ path, preprocess }, { chunkRows: 2 });
  const onnx = await loadOnnxModel({ path, preprocess });
  try {
    const target = ort.classifier as OnnxRuntimeClassifier;
    assert.equal(accessOf(target), 'scores');
    assert.deepEqual([target.inputShape, target.numClasses, target.differentiable], [[32, 32, 3], 10, false]);
    assert.equal(ort.identity.kind, 'file');
    const rows = Float32Array.from(randomValues(5 * 32 * 32 * 3, 4, 0, 1));
    const scores = await target.queryScores(rows, 5);
    assert.equal(target.queries, 5);
    const expected = await values(tf.tidy(() => tf.softmax(onnx.classifier.logits(tf.tensor(rows, [5, 32, 32, 3])))));
    assert.ok(maxAbsDiff(scores, expected) < 1e-4, `diff ${maxAbsDiff(scores, expected)}`);
    await target.queryScores(rows.subarray(0, 3 * 32 * 32 * 3), 3);
    assert.equal(target.queries, 8);
    await assert.rejects(target.queryScores(rows, 4), (e: RampartError) => e.code === 'E_INPUT_LENGTH');
  } finally {
    ort.dispose();
    onnx.dispose();
  }
});

test('logits refuses with E_NOT_WHITE_BOX naming the black-box attacks; gradient attacks refuse the target', async () => {
  const ort = await loadOnnxRuntimeModel({ path: join(FIXTURES, 'tabular-mlp.onnx') });
  try {
    assert.throws(
      () => ort.classifier.logits(tf.zeros([1, 10])),
      (e: RampartError) => e.code === 'E_NOT_WHITE_BOX' && e.message.includes('square') && e.message.includes('hsj'),
    );
    const x = tf.zeros([1, 10]);
    await assert.rejects(
      pgd({ steps: 2 }).run(ort.classifier, x, Int32Array.from([0]), threatModel({ norm: 'linf', epsilon: 0.1 })),
      /black-box/,
    );
    x.dispose();
  } finally {
    ort.dispose();
  }
});

test('square runs on the score target with its queries counted', async () => {
  const ort = await loadOnnxRuntimeModel({ path: join(FIXTURES, 'mnist-cnn.onnx'), preprocess: { layout: 'nchw' } });
  try {
    const target = ort.classifier as OnnxRuntimeClassifier;
    const x = tf.tensor(randomValues(2 * 784, 5, 0, 1), [2, 28, 28, 1]);
    const labels = Int32Array.from([0, 1]);
    const result = await square({ queries: 20 }).run(target, x, labels, threatModel({ norm: 'linf', epsilon: 0.3 }), { seed: 1 });
    assert.ok(target.queries > 0);
    assert.equal(result.adversarial.shape.join(), '2,28,28,1');
    tf.dispose([x, result.adversarial]);
  } finally {
    ort.dispose();
  }
});

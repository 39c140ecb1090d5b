/**
 * The imported MNIST CNN (a PyTorch export) against the same weights as a native TF.js
 * model: equal logits, and PGD finds the same adversarial examples example for example.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { engine, smallMnist } from './fixtures.js';
import { maxAbsDiff, values } from './onnx-builder.js';
import { nativeMnistCnn, ONNX_FIXTURES } from './onnx-native.js';
import { loadOnnxModel } from '../src/models/onnx/index.js';
import { TfjsClassifier } from '../src/models/tfjs-classifier.js';
import { pgd } from '../src/attacks/image/pgd.js';
import { threatModel } from '../src/threats/threat-model.js';
import { takeFirst } from '../src/data/index.js';

before(engine);

test('PGD on the imported MNIST CNN equals PGD on the native TF.js model, example for example', async () => {
  const native = nativeMnistCnn();
  const loaded = await loadOnnxModel({ path: join(ONNX_FIXTURES, 'mnist-cnn.onnx'), preprocess: { layout: 'nchw' } });
  try {
    const reference = new TfjsClassifier(native, { id: 'native' });
    const data = takeFirst(smallMnist().test, 32);
    const x = tf.tensor(data.x, [data.count, 28, 28, 1]);
    const labels = data.y;
    const a = await values(tf.tidy(() => loaded.classifier.logits(x)));
    const b = await values(tf.tidy(() => reference.logits(x)));
    assert.ok(maxAbsDiff(a, b) < 1e-4, `logits differ by ${maxAbsDiff(a, b)}`);
    const threat = threatModel({ norm: 'linf', epsilon: 0.2 });
    const ours = await pgd({ steps: 10 }).run(loaded.classifier, x, labels, threat, { seed: 3 });
    const theirs = await pgd({ steps: 10 }).run(reference, x, labels, threat, { seed: 3 });
    assert.deepEqual([...ours.success], [...theirs.success]);
    assert.ok(
      ours.success.some((s) => s === 1) && ours.success.some((s) => s === 0),
      'the attack should both win and lose on some examples',
    );
    const diff = maxAbsDiff(await values(ours.adversarial), await values(theirs.adversarial));
    // Sign steps amplify float noise only where a gradient component is ~0; the examples must agree.
    assert.ok(diff < 1e-3, `adversarial examples differ by ${diff}`);
    x.dispose();
  } finally {
    loaded.dispose();
    native.dispose();
  }
});

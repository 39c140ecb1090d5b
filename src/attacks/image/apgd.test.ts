import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { batchTensor } from '../../core/tensors.js';
import type { TfjsClassifier } from '../../models/tfjs-classifier.js';
import { threatModel } from '../../threats/threat-model.js';
import { dlrLoss, targetedDlrLoss } from '../losses.js';
import { createAttack } from '../registry.js';
import { apgdCheckpoints } from './apgd.js';
import { engine, smallMnist, trainedMlp } from '../../../test/fixtures.js';

const count = (s: Uint8Array): number => s.reduce((a, b) => a + b, 0);

describe('APGD', () => {
  let model: TfjsClassifier;
  before(async () => {
    await engine();
    model = await trainedMlp();
  });

  test('checkpoints follow the paper for 100 steps', () => {
    assert.deepEqual(apgdCheckpoints(100), [22, 41, 57, 70, 80, 87, 93, 99]);
    assert.deepEqual(apgdCheckpoints(5), [1, 2, 3, 4, 5]);
  });

  test('DLR is invariant to shifting and scaling the logits, and its targeted form compares label and target', () => {
    const z = tf.tensor2d([
      [3, 1, 0.5, -2],
      [0, 2, 1, 1.5],
    ]);
    const y = tf.tensor1d([0, 1], 'int32');
    const t = tf.tensor1d([2, 3], 'int32');
    const plain = dlrLoss(z, y).arraySync();
    const scaled = tf.tidy(() => dlrLoss(tf.add(tf.mul(z, 4), 7) as tf.Tensor2D, y).arraySync());
    // Example 0: -(3 - 1) / (3 - 0.5); example 1: -(2 - 1.5) / (2 - 1).
    assert.ok(Math.abs((plain[0] as number) + 2 / 2.5) < 1e-6 && Math.abs((plain[1] as number) + 0.5) < 1e-6, `dlr ${plain}`);
    plain.forEach((v, i) => assert.ok(Math.abs(v - (scaled[i] as number)) < 1e-5));
    const targeted = tf.tidy(() => targetedDlrLoss(z, y, t).arraySync());
    // Example 0: (0.5 - 3) / (3 - (0.5 - 2) / 2).
    assert.ok(Math.abs((targeted[0] as number) - -2.5 / 3.75) < 1e-6, `targeted dlr ${targeted}`);
    for (const v of [z, y, t]) v.dispose();
  });

  test('APGD-CE and APGD-T break at least as many examples as PGD with the same steps', async () => {
    const { test: data } = smallMnist();
    const x = batchTensor(data, 0, 200);
    const labels = data.y.slice(0, 200);
    for (const threat of [threatModel({ norm: 'linf', epsilon: 0.08 }), threatModel({ norm: 'l2', epsilon: 0.8 })]) {
      const p = await createAttack('pgd', { steps: 10 }).run(model, x, labels, threat, { seed: 1 });
      const a = await createAttack('apgd-ce', { steps: 10 }).run(model, x, labels, threat, { seed: 1 });
      const t = await createAttack('apgd-t', { steps: 10, targetClasses: 3 }).run(model, x, labels, threat, { seed: 1 });
      for (const r of [p, a, t]) r.adversarial.dispose();
      assert.ok(count(a.success) >= count(p.success), `${threat.id}: APGD-CE broke ${count(a.success)}, PGD ${count(p.success)}`);
      assert.ok(count(t.success) >= count(p.success), `${threat.id}: APGD-T broke ${count(t.success)}, PGD ${count(p.success)}`);
      // APGD-T spends one query on the ranking, then at most steps + 1 per target class.
      for (const q of t.queries) assert.ok(q >= 1 && q <= 1 + 3 * 11);
    }
    x.dispose();
  });

  test('a targeted goal reaches the target', async () => {
    const { test: data } = smallMnist();
    const x = batchTensor(data, 0, 50);
    const labels = data.y.slice(0, 50);
    const targets = labels.map((l) => (l + 3) % 10);
    const r = await createAttack('apgd-dlr', { steps: 20 }).run(model, x, labels, threatModel({ norm: 'linf', epsilon: 0.2 }), {
      seed: 1,
      goal: { kind: 'targeted', targets },
    });
    assert.ok(count(r.success) >= 25, `only ${count(r.success)} of 50 reached their target`);
    r.adversarial.dispose();
    x.dispose();
  });

  test('refuses a model without gradients', async () => {
    const x = tf.zeros([1, 28, 28, 1]);
    const blackBox = {
      ...model,
      id: 'bb',
      inputShape: model.inputShape,
      numClasses: 10,
      bounds: model.bounds,
      differentiable: false,
      logits: (t: tf.Tensor) => model.logits(t),
    };
    await assert.rejects(
      createAttack('apgd-ce').run(blackBox, x, Int32Array.from([0]), threatModel({ norm: 'linf', epsilon: 0.1 })),
      /E_NOT_DIFFERENTIABLE|no gradients/,
    );
    x.dispose();
  });
});

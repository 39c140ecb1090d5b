import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { batchTensor } from '../../core/tensors.js';
import type { Classifier } from '../../models/classifier.js';
import { threatModel } from '../../threats/threat-model.js';
import { createAttack } from '../registry.js';
import { squareFraction } from './square.js';
import { engine, smallMnist, trainedMlp } from '../../../test/fixtures.js';

/** The trained MLP seen as a black box: logits only, no gradients. */
function blackBox(model: Classifier): Classifier {
  return {
    id: 'black-box',
    inputShape: model.inputShape,
    numClasses: model.numClasses,
    bounds: model.bounds,
    differentiable: false,
    logits: (x) => model.logits(x),
  };
}

describe('square attack', () => {
  let model: Classifier;
  before(async () => {
    await engine();
    model = blackBox(await trainedMlp());
  });

  test('the square shrinks on the paper schedule', () => {
    assert.equal(squareFraction(0.8, 0, 1000), 0.8);
    assert.equal(squareFraction(0.8, 5, 1000), 0.4);
    assert.equal(squareFraction(0.8, 999, 1000), 0.8 / 512);
  });

  for (const [norm, epsilon] of [
    ['linf', 0.15],
    ['l2', 2.5],
  ] as const) {
    test(`${norm}: breaks a non-differentiable model, counts queries exactly and stays within the budget`, async () => {
      const { test: data } = smallMnist();
      const before = tf.memory().numTensors;
      const x = batchTensor(data, 0, 40);
      const labels = data.y.slice(0, 40);
      const budget = 150;
      const result = await createAttack('square', { queries: budget }).run(model, x, labels, threatModel({ norm, epsilon }), { seed: 2 });
      const broken = result.success.reduce((a, b) => a + b, 0);
      assert.ok(broken >= 10, `square broke only ${broken} of 40`);
      for (let i = 0; i < 40; i++) {
        const q = result.queries[i] as number;
        assert.ok(q >= 1 && q <= budget, `example ${i} used ${q} queries`);
        // An unbroken example spends the whole budget; a broken one stops at its first success.
        if (!result.success[i]) assert.equal(q, budget);
        assert.ok((result.perturbation[i] as number) <= epsilon * (1 + 1e-5));
      }
      const again = await createAttack('square', { queries: budget }).run(model, x, labels, threatModel({ norm, epsilon }), { seed: 2 });
      assert.deepEqual(again.queries, result.queries, 'same seed, same run');
      assert.deepEqual(await again.adversarial.data(), await result.adversarial.data());
      again.adversarial.dispose();
      result.adversarial.dispose();
      x.dispose();
      assert.equal(tf.memory().numTensors, before);
    });
  }

  test('rejects a bad budget', () => {
    assert.throws(() => createAttack('square', { queries: 0 }), /queries/);
    assert.throws(() => createAttack('square', { pInit: 2 }), /pInit/);
  });
});

import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { batchTensor } from '../../core/tensors.js';
import type { Classifier } from '../../models/classifier.js';
import { threatModel } from '../../threats/threat-model.js';
import { createAttack } from '../registry.js';
import { engine, smallMnist, trainedMlp } from '../../../test/fixtures.js';

/** The trained MLP reduced to its decisions: one-hot of the argmax, no gradients. */
function labelsOnly(model: Classifier): Classifier {
  return {
    id: 'labels-only',
    inputShape: model.inputShape,
    numClasses: model.numClasses,
    bounds: model.bounds,
    differentiable: false,
    logits: (x) => tf.oneHot(tf.argMax(model.logits(x), 1), model.numClasses).toFloat() as tf.Tensor2D,
  };
}

describe('HopSkipJump', () => {
  let model: Classifier;
  before(async () => {
    await engine();
    model = labelsOnly(await trainedMlp());
  });

  for (const [norm, epsilon] of [
    ['l2', 2],
    ['linf', 0.15],
  ] as const) {
    test(`${norm}: seeing labels only, it succeeds unbounded, shrinks the perturbation and keeps to the budget`, async () => {
      const { test: data } = smallMnist();
      const before = tf.memory().numTensors;
      const x = batchTensor(data, 0, 12);
      const labels = data.y.slice(0, 12);
      const budget = 400;
      const threat = threatModel({ norm, epsilon });
      const r = await createAttack('hsj', { queries: budget, initialEvals: 30 }).run(model, x, labels, threat, { seed: 4 });
      const minNorm = r.minNorm as Float32Array;
      assert.equal(minNorm.filter((v) => Number.isFinite(v)).length, 12, `unbounded successes: ${[...minNorm]}`);
      for (let i = 0; i < 12; i++) {
        assert.ok((r.queries[i] as number) <= budget, `example ${i} spent ${r.queries[i]}`);
        if ((minNorm[i] as number) <= epsilon) assert.equal(r.success[i], 1);
      }
      // Uniform noise sits far from a digit (L2 ~ 10, L∞ ~ 1); the walk along the boundary must get much closer.
      const median = [...minNorm].sort((a, b) => a - b)[6] as number;
      assert.ok(median < (norm === 'l2' ? 3.5 : 0.5), `median distance ${median}`);
      r.adversarial.dispose();
      x.dispose();
      assert.equal(tf.memory().numTensors, before);
    });
  }
});

import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { batchTensor } from '../../core/tensors.js';
import { TfjsClassifier } from '../../models/tfjs-classifier.js';
import { threatModel } from '../../threats/threat-model.js';
import { createAttack } from '../registry.js';
import { engine, smallMnist, trainedMlp } from '../../../test/fixtures.js';

// Two classes with margin f(x) = w·x + b; the smallest L2 perturbation that flips the
// decision has size |f| / ‖w‖₂. Bounds [-2, 2] never bind at these points.
const W = [1, -2.5, 3, -0.5];
const B = 0.7;
const X = [
  [0.1, 0.2, -0.3, 0.4],
  [0.5, -0.2, 0.1, -0.1],
];

function linear(): TfjsClassifier {
  const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 2 })] });
  model.layers[0]?.setWeights([tf.tensor2d([W, W.map(() => 0)]).transpose(), tf.tensor1d([B, 0])]);
  return new TfjsClassifier(model, { id: 'linear-cw', bounds: { min: -2, max: 2 } });
}

describe('Carlini-Wagner L2', () => {
  before(engine);

  test('reaches the analytic minimum L2 distance of a linear model', async () => {
    const model = linear();
    const x = tf.tensor2d(X);
    const labels = Int32Array.from(X.map((row) => (row.reduce((s, v, i) => s + v * W[i]!, 0) + B > 0 ? 0 : 1)));
    const wNorm = Math.sqrt(W.reduce((s, v) => s + v * v, 0));
    const optimum = X.map((row) => Math.abs(row.reduce((s, v, i) => s + v * W[i]!, 0) + B) / wNorm);
    const r = await createAttack('cw', { steps: 150, binarySearchSteps: 6, learningRate: 0.005, initialConst: 0.1 }).run(
      model,
      x,
      labels,
      threatModel({ norm: 'l2', epsilon: 5, bounds: model.bounds }),
    );
    for (let i = 0; i < X.length; i++) {
      assert.equal(r.success[i], 1);
      const found = r.minNorm?.[i] as number;
      assert.ok(
        found >= (optimum[i] as number) * 0.999 && found <= (optimum[i] as number) * 1.05,
        `example ${i}: ${found} vs optimum ${optimum[i]}`,
      );
    }
    r.adversarial.dispose();
    x.dispose();
    model.model.dispose();
  });

  test('finds small perturbations on the trained model and answers to a tight threat by projection', async () => {
    const mlp = await trainedMlp();
    const { test: data } = smallMnist();
    const x = batchTensor(data, 0, 30);
    const labels = data.y.slice(0, 30);
    const before = tf.memory().numTensors;
    const threat = threatModel({ norm: 'l2', epsilon: 0.5 });
    const r = await createAttack('cw', { steps: 60, binarySearchSteps: 4, initialConst: 1, learningRate: 0.05 }).run(
      mlp,
      x,
      labels,
      threat,
    );
    const minNorm = r.minNorm as Float32Array;
    assert.ok(minNorm.filter((v) => Number.isFinite(v)).length >= 25, `fooled ${minNorm.filter((v) => Number.isFinite(v)).length} of 30`);
    for (let i = 0; i < 30; i++) {
      if ((minNorm[i] as number) <= threat.epsilon) assert.equal(r.success[i], 1);
      assert.ok((r.perturbation[i] as number) <= threat.epsilon * (1 + 1e-5));
    }
    r.adversarial.dispose();
    assert.equal(tf.memory().numTensors, before);
    x.dispose();
  });
});

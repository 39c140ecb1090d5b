import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { batchTensor } from '../../core/tensors.js';
import type { TfjsClassifier } from '../../models/tfjs-classifier.js';
import { threatModel } from '../../threats/threat-model.js';
import { createAttack } from '../registry.js';
import { engine, linearModel, smallMnist, trainedMlp } from '../../../test/fixtures.js';

// Two classes, margin f(x) = (w0 - w1)·x + (b0 - b1): the smallest L2 perturbation that flips
// the decision has size |f| / ‖w0 - w1‖₂, the smallest L∞ one |f| / ‖w0 - w1‖₁.
const W = [
  [0.5, -1.5, 2.0, 0.25],
  [-0.5, 1.0, -1.0, 0.75],
];
const B = [0.7, 0];
const X = [
  [0.1, 0.2, -0.3, 0.4],
  [0.5, -0.2, 0.1, -0.1],
];

function analytic(normId: 'l2' | 'linf'): number[] {
  const w = (W[0] as number[]).map((v, i) => v - (W[1] as number[])[i]!);
  const dual = normId === 'l2' ? Math.sqrt(w.reduce((s, v) => s + v * v, 0)) : w.reduce((s, v) => s + Math.abs(v), 0);
  return X.map((x) => Math.abs(x.reduce((s, v, i) => s + v * w[i]!, 0) + (B[0] as number) - (B[1] as number)) / dual);
}

describe('DeepFool', () => {
  let mlp: TfjsClassifier;
  before(async () => {
    await engine();
    mlp = await trainedMlp();
  });

  for (const normId of ['l2', 'linf'] as const) {
    test(`${normId}: reaches the analytic minimum distance of a linear model`, async () => {
      const model = linearModel(W, B);
      const x = tf.tensor2d(X);
      const labels = await tf
        .tidy(() => tf.argMax(model.logits(x), 1))
        .data()
        .then((v) => Int32Array.from(v));
      const optimum = analytic(normId);
      const wide = threatModel({ norm: normId, epsilon: 10, bounds: model.bounds });
      const r = await createAttack('deepfool').run(model, x, labels, wide);
      for (let i = 0; i < X.length; i++) {
        assert.equal(r.success[i], 1);
        const found = r.minNorm?.[i] as number;
        // The default overshoot (2%) lands just past the boundary.
        assert.ok(
          found >= (optimum[i] as number) * 0.999 && found <= (optimum[i] as number) * 1.03,
          `example ${i}: ${found} vs optimum ${optimum[i]}`,
        );
      }
      r.adversarial.dispose();
      // Below the minimum the attack cannot succeed and returns the projection onto the ball.
      const tight = threatModel({ norm: normId, epsilon: Math.min(...optimum) * 0.5, bounds: model.bounds });
      const p = await createAttack('deepfool').run(model, x, labels, tight);
      assert.deepEqual([...p.success], [0, 0]);
      for (const v of p.perturbation) assert.ok(v <= tight.epsilon * (1 + 1e-5));
      p.adversarial.dispose();
      x.dispose();
      model.model.dispose();
    });
  }

  test('unbounded, it fools the trained model on nearly every example; success within epsilon matches its minimum norms', async () => {
    const { test: data } = smallMnist();
    const x = batchTensor(data, 0, 100);
    const labels = data.y.slice(0, 100);
    const before = tf.memory().numTensors;
    const threat = threatModel({ norm: 'l2', epsilon: 1 });
    const r = await createAttack('deepfool').run(mlp, x, labels, threat);
    const minNorm = r.minNorm as Float32Array;
    const finite = minNorm.filter((v) => Number.isFinite(v)).length;
    assert.ok(finite >= 95, `only ${finite} of 100 fooled without a budget`);
    for (let i = 0; i < 100; i++)
      if ((minNorm[i] as number) <= threat.epsilon) assert.equal(r.success[i], 1, `example ${i} at ${minNorm[i]} should count`);
    r.adversarial.dispose();
    assert.equal(tf.memory().numTensors, before);
    x.dispose();
  });
});

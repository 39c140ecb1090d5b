import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { batchTensor } from '../../core/tensors.js';
import type { TfjsClassifier } from '../../models/tfjs-classifier.js';
import { threatModel } from '../../threats/threat-model.js';
import { createAttack } from '../registry.js';
import { projectOntoHyperplane } from './fab.js';
import { engine, linearModel, smallMnist, trainedMlp } from '../../../test/fixtures.js';

const W = [
  [0.5, -1.5, 2.0, 0.25],
  [-0.5, 1.0, -1.0, 0.75],
];
const B = [0.7, 0];
const X = [
  [0.1, 0.2, -0.3, 0.4],
  [0.5, -0.2, 0.1, -0.1],
];

describe('FAB', () => {
  let mlp: TfjsClassifier;
  before(async () => {
    await engine();
    mlp = await trainedMlp();
  });

  test('projects onto a hyperplane inside a box', () => {
    // Unconstrained: x + (b - w·x)/‖w‖² w.
    const free = projectOntoHyperplane([0, 0], [1, 1], 1, -10, 10, false);
    assert.ok(Math.abs((free[0] as number) - 0.5) < 1e-9 && Math.abs((free[1] as number) - 0.5) < 1e-9);
    // The box caps the first coordinate at 1, so the second must carry the rest.
    const capped = projectOntoHyperplane([0.9, 0], [1, 1], 1.5, 0, 1, false);
    assert.ok(Math.abs((capped[0] as number) - 1) < 1e-9 && Math.abs((capped[1] as number) - 0.5) < 1e-9, `${[...capped]}`);
    // L∞: every coordinate moves by the same t: 2t = 1.
    const linf = projectOntoHyperplane([0, 0], [1, -1], 1, -10, 10, true);
    assert.ok(Math.abs((linf[0] as number) - 0.5) < 1e-9 && Math.abs((linf[1] as number) + 0.5) < 1e-9);
  });

  for (const normId of ['l2', 'linf'] as const) {
    test(`${normId}: reaches the analytic minimum distance of a linear model`, async () => {
      const model = linearModel(W, B);
      const x = tf.tensor2d(X);
      const labels = Int32Array.from(await tf.tidy(() => tf.argMax(model.logits(x), 1)).data());
      const w = (W[0] as number[]).map((v, i) => v - (W[1] as number[])[i]!);
      const dual = normId === 'l2' ? Math.sqrt(w.reduce((s, v) => s + v * v, 0)) : w.reduce((s, v) => s + Math.abs(v), 0);
      const optimum = X.map((row) => Math.abs(row.reduce((s, v, i) => s + v * w[i]!, 0) + (B[0] as number) - (B[1] as number)) / dual);
      const r = await createAttack('fab', { steps: 20 }).run(
        model,
        x,
        labels,
        threatModel({ norm: normId, epsilon: 10, bounds: model.bounds }),
      );
      for (let i = 0; i < X.length; i++) {
        const found = r.minNorm?.[i] as number;
        assert.equal(r.success[i], 1);
        assert.ok(
          found >= (optimum[i] as number) * 0.999 && found <= (optimum[i] as number) * 1.06,
          `example ${i}: ${found} vs optimum ${optimum[i]}`,
        );
      }
      r.adversarial.dispose();
      x.dispose();
      model.model.dispose();
    });
  }

  test('more steps only shrink the perturbations found; FAB-T fools nearly every example without a budget', async () => {
    const { test: data } = smallMnist();
    const x = batchTensor(data, 0, 40);
    const labels = data.y.slice(0, 40);
    const before = tf.memory().numTensors;
    const threat = threatModel({ norm: 'linf', epsilon: 0.1 });
    // One deterministic trajectory, extended: the best point so far can only get smaller.
    const short = await createAttack('fab', { steps: 5 }).run(mlp, x, labels, threat);
    const long = await createAttack('fab', { steps: 12 }).run(mlp, x, labels, threat);
    const t = await createAttack('fab-t', { steps: 10, targetClasses: 3 }).run(mlp, x, labels, threat);
    const s = short.minNorm as Float32Array;
    const l = long.minNorm as Float32Array;
    for (let i = 0; i < 40; i++) assert.ok((l[i] as number) <= (s[i] as number), `example ${i}: ${l[i]} after 12 steps, ${s[i]} after 5`);
    const fm = t.minNorm as Float32Array;
    assert.ok(fm.filter((v) => Number.isFinite(v)).length >= 38, 'FAB-T fools nearly every example without a budget');
    for (let i = 0; i < 40; i++) if ((fm[i] as number) <= threat.epsilon) assert.equal(t.success[i], 1);
    for (const r of [short, long, t]) r.adversarial.dispose();
    assert.equal(tf.memory().numTensors, before);
    x.dispose();
  });
});

/**
 * The conformance table: every registered attack, under every norm, goes through the
 * same checks. A new attack gets these checks by being registered.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { attackIds, attackNorms, createAttack } from './registry.js';
import { getNorm } from '../threats/norms.js';
import { threatModel } from '../threats/threat-model.js';
import { batchTensor } from '../core/tensors.js';
import type { TfjsClassifier } from '../models/tfjs-classifier.js';
import { engine, linearModel, smallMnist, trainedMlp } from '../../test/fixtures.js';

const EPSILON: Record<string, number> = { linf: 0.1, l2: 1.5, l0: 12, patch: 8, occlusion: 10 };
/** Small budgets keep the table fast; the checks do not depend on attack strength. */
const CHEAP: Record<string, Record<string, unknown>> = {
  pgd: { steps: 10 },
  square: { queries: 40 },
  'apgd-ce': { steps: 5 },
  'apgd-dlr': { steps: 5 },
  'apgd-t': { steps: 3, targetClasses: 2 },
  deepfool: { steps: 5 },
  fab: { steps: 3 },
  'fab-t': { steps: 2, targetClasses: 2 },
  cw: { steps: 5, binarySearchSteps: 2 },
  hsj: { steps: 2, queries: 60, initialEvals: 10 },
  universal: { steps: 10 },
  patch: { steps: 10, evalLocations: 4 },
  'sparse-l0': { pixelsPerStep: 3 },
  occlusion: { stride: 4 },
  'tabular-pgd': { steps: 10 },
  'tabular-apgd': { steps: 5 },
  lowprofool: { steps: 10 },
  'tabular-random-search': { queries: 40 },
};

describe('attack conformance', () => {
  let model: TfjsClassifier;
  before(async () => {
    await engine();
    model = await trainedMlp();
  });

  for (const id of attackIds()) {
    for (const norm of attackNorms(id)) {
      for (const goal of ['untargeted', 'targeted'] as const) {
        test(`${id} ${norm} ${goal}: inside the ball and the bounds, honest success flags, no leaks`, async () => {
          const { test: data } = smallMnist();
          const tensorsBefore = tf.memory().numTensors;
          const x = batchTensor(data, 0, 64);
          const labels = data.y.slice(0, 64);
          const targets = labels.map((l) => (l + 1) % 10);
          const threat = threatModel({ norm, epsilon: EPSILON[norm] as number });
          const attack = createAttack(id, CHEAP[id] ?? {});
          const options = goal === 'targeted' ? { goal: { kind: 'targeted' as const, targets }, seed: 1 } : { seed: 1 };
          const result = await attack.run(model, x, labels, threat, options);

          const distances = tf.tidy(() => getNorm(norm).distance(tf.sub(result.adversarial, x)));
          const d = await distances.data();
          distances.dispose();
          for (let i = 0; i < d.length; i++)
            assert.ok((d[i] as number) <= threat.epsilon * (1 + 1e-5) + 1e-6, `example ${i} at distance ${d[i]} > ${threat.epsilon}`);
          for (let i = 0; i < d.length; i++)
            assert.ok(Math.abs((d[i] as number) - (result.perturbation[i] as number)) < 1e-5, 'reported perturbation matches');
          assert.ok(attackNorms(id).length > 0, `${id} declares the threat norms it searches under`);
          const [min, max] = tf
            .tidy(() => [tf.min(result.adversarial), tf.max(result.adversarial)])
            .map((t) => {
              const v = t.dataSync()[0] as number;
              t.dispose();
              return v;
            });
          assert.ok((min as number) >= 0 && (max as number) <= 1, `adversarial range [${min}, ${max}] leaves the bounds`);

          const predicted = tf.tidy(() => tf.argMax(model.logits(result.adversarial), 1));
          const p = await predicted.data();
          predicted.dispose();
          for (let i = 0; i < p.length; i++) {
            const met = goal === 'targeted' ? p[i] === targets[i] : p[i] !== labels[i];
            assert.equal(result.success[i] === 1, met, `success flag of example ${i} disagrees with a re-prediction`);
            assert.ok((result.queries[i] as number) >= 1);
          }
          result.adversarial.dispose();
          x.dispose();
          assert.equal(tf.memory().numTensors, tensorsBefore, 'the attack leaked tensors');
        });
      }
    }
  }

  test('PGD is at least as strong as FGSM on a trained model', async () => {
    const { test: data } = smallMnist();
    const x = batchTensor(data, 0, 200);
    const labels = data.y.slice(0, 200);
    for (const epsilon of [0.05, 0.1]) {
      const threat = threatModel({ norm: 'linf', epsilon });
      const f = await createAttack('fgsm').run(model, x, labels, threat);
      const p = await createAttack('pgd', { steps: 20 }).run(model, x, labels, threat, { seed: 3 });
      f.adversarial.dispose();
      p.adversarial.dispose();
      const count = (s: Uint8Array) => s.reduce((a, b) => a + b, 0);
      assert.ok(count(p.success) >= count(f.success), `eps ${epsilon}: PGD broke ${count(p.success)}, FGSM ${count(f.success)}`);
      assert.ok(count(p.success) > 0);
    }
    x.dispose();
  });

  test('more PGD restarts never weaken the attack', async () => {
    const { test: data } = smallMnist();
    const x = batchTensor(data, 0, 100);
    const labels = data.y.slice(0, 100);
    const threat = threatModel({ norm: 'linf', epsilon: 0.05 });
    const one = await createAttack('pgd', { steps: 5, restarts: 1 }).run(model, x, labels, threat, { seed: 5 });
    const three = await createAttack('pgd', { steps: 5, restarts: 3 }).run(model, x, labels, threat, { seed: 5 });
    one.adversarial.dispose();
    three.adversarial.dispose();
    x.dispose();
    for (let i = 0; i < 100; i++) if (one.success[i]) assert.equal(three.success[i], 1, `restart run lost example ${i}`);
  });
});

describe('PGD reaches the analytic worst case of a linear model', () => {
  // Two classes, logits w_c·x + b_c. The best L∞ attack lowers the margin (z0 - z1) by
  // eps·‖w0 − w1‖₁ (move each coordinate by eps against sign(w0 − w1)); the best L2
  // attack by eps·‖w0 − w1‖₂. Bounds are wide so clipping never binds.
  const w = [
    [0.5, -1.5, 2.0, 0.25],
    [-0.5, 1.0, -1.0, 0.75],
  ];
  const diff = (w[0] as number[]).map((v, i) => v - (w[1] as number[])[i]!);
  const cases = [
    { norm: 'linf', epsilon: 0.2, reduction: 0.2 * diff.reduce((s, v) => s + Math.abs(v), 0) },
    { norm: 'l2', epsilon: 0.5, reduction: 0.5 * Math.sqrt(diff.reduce((s, v) => s + v * v, 0)) },
  ];
  for (const c of cases) {
    test(`${c.norm}: margin drops by exactly the dual norm bound`, async () => {
      await engine();
      const model = linearModel(w, [10, 0]); // far from the boundary: never succeeds, so the loop keeps pushing
      const x = tf.tensor2d([[0.1, 0.2, -0.3, 0.4]]);
      const margin = (t: tf.Tensor) =>
        tf.tidy(() => {
          const z = model.logits(t).dataSync();
          return (z[0] as number) - (z[1] as number);
        });
      const clean = margin(x);
      const result = await createAttack('pgd', { steps: 100, randomStart: false, loss: 'margin' }).run(
        model,
        x,
        Int32Array.from([0]),
        threatModel({ norm: c.norm, epsilon: c.epsilon, bounds: model.bounds }),
      );
      const attacked = margin(result.adversarial);
      assert.equal(result.success[0], 0);
      assert.ok(
        Math.abs(clean - attacked - c.reduction) < 1e-3 * c.reduction,
        `margin fell by ${clean - attacked}, optimum ${c.reduction}`,
      );
      result.adversarial.dispose();
      x.dispose();
      model.model.dispose();
    });
  }
});

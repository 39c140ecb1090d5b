/**
 * Expectation over transformation (EOT) against a randomised toy defence. The defence adds
 * `k · Σ r_i sin(ω x_i) / ω` with fresh Gaussian r per forward pass to a linear margin:
 * with ω large the term barely moves the prediction, but it swamps each pass's input
 * gradient with noise (k r_i cos(ω x_i)) whose mean is zero, so PGD on single passes
 * walks mostly at random while the gradient averaged over passes is the linear one.
 * Measured at these settings: plain PGD-40 breaks 0 of 20, EOT-PGD-40 (32 passes) 17;
 * plain APGD-CE-40 2, EOT-APGD-CE-40 20.
 * EOT stops an example at its first success under the 32-pass mean, which can sit just
 * short of the boundary of the exact mean, hence not 20.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { createRng } from '../../core/rng.js';
import type { Classifier } from '../../models/classifier.js';
import { threatModel } from '../../threats/threat-model.js';
import { engine } from '../../../test/fixtures.js';
import { createAttack } from '../registry.js';

before(engine);

const D = 64;
const K = 6;
const OMEGA = 200;
const EPSILON = 0.05;
/** Clean margin: 60% of the largest drop an L∞ attack can make (ε · ‖w‖₁ = 3.2). */
const MARGIN = 0.6 * EPSILON * D;

const rng = createRng(11);
const w = Float32Array.from({ length: D }, () => (rng.next() < 0.5 ? -1 : 1));

/** The randomised defence: each call draws new noise (seeded by a call counter, so the test is deterministic). */
function randomised(): Classifier {
  let calls = 0;
  const wT = tf.tensor2d(w, [D, 1]);
  return {
    id: 'randomised-toy',
    inputShape: [D],
    numClasses: 2,
    bounds: { min: 0, max: 1 },
    differentiable: true,
    logits: (x) =>
      tf.tidy(() => {
        const r = tf.randomNormal([1, D], 0, 1, 'float32', 1000 + calls++);
        const margin = tf.matMul(tf.sub(x, 0.5), wT);
        const noise = tf.mul(K / OMEGA, tf.sum(tf.mul(r, tf.sin(tf.mul(OMEGA, x))), 1, true));
        const m = tf.add(margin, noise);
        return tf.concat([tf.div(m, 2), tf.div(m, -2)], 1) as tf.Tensor2D;
      }),
  };
}

/** Points with the same clean linear margin, all of class 0. */
function batch(n: number): tf.Tensor2D {
  const values = new Float32Array(n * D);
  for (let i = 0; i < n; i++) {
    const row = Float32Array.from({ length: D }, () => 0.3 + 0.4 * rng.next());
    const m = row.reduce((s, v, j) => s + (v - 0.5) * (w[j] as number), 0);
    values.set(
      row.map((v, j) => v + ((MARGIN - m) / D) * (w[j] as number)),
      i * D,
    );
  }
  return tf.tensor2d(values, [n, D]);
}

/** Broken for the defence's mean prediction (the noise has mean zero): the linear margin is negative. */
async function brokenOnAverage(adversarial: tf.Tensor): Promise<number> {
  const margins = tf.tidy(() => tf.matMul(tf.sub(adversarial, 0.5), tf.tensor2d(w, [D, 1])));
  const values = await margins.data();
  margins.dispose();
  return Array.from(values).filter((m) => m < 0).length;
}

const CASES = [
  { id: 'pgd', eotAtLeast: 15, plainAtMost: 3 },
  { id: 'apgd-ce', eotAtLeast: 17, plainAtMost: 5 },
];

for (const c of CASES) {
  test(`EOT-${c.id} breaks a randomised defence that plain ${c.id} does not`, async () => {
    const model = randomised();
    const x = batch(20);
    const labels = new Int32Array(20);
    const threat = threatModel({ norm: 'linf', epsilon: EPSILON });
    const tensorsBefore = tf.memory().numTensors;
    const plain = await createAttack(c.id, { steps: 40 }).run(model, x, labels, threat, { seed: 2 });
    const eot = await createAttack(c.id, { steps: 40, eot: 32 }).run(model, x, labels, threat, { seed: 2 });
    const plainBroken = await brokenOnAverage(plain.adversarial);
    const eotBroken = await brokenOnAverage(eot.adversarial);
    assert.ok(eotBroken >= c.eotAtLeast, `EOT-${c.id} broke ${eotBroken} of 20 on average`);
    assert.ok(plainBroken <= c.plainAtMost, `plain ${c.id} broke ${plainBroken} of 20 on average`);
    assert.ok(
      eot.queries.every((q) => q % 32 === 0 && q > 32),
      'EOT counts every forward pass',
    );
    plain.adversarial.dispose();
    eot.adversarial.dispose();
    assert.equal(tf.memory().numTensors, tensorsBefore, 'no tensors leak');
    x.dispose();
  });
}

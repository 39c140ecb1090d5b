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
import { threatModel } from '../../threats/threat-model.js';
import { engine } from '../../../test/fixtures.js';
import { batch, brokenOnAverage, EPSILON, randomised } from '../../../test/randomised-toy.js';
import { createAttack } from '../registry.js';

before(engine);

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

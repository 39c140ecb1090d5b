/**
 * Gradient-masking checks as gate criteria, end to end through the plan's evaluation: a
 * deliberately masked model (a quantising front end, whose round() has zero gradient)
 * fails the gate with the failing checks' explanations even though its robust-accuracy
 * criterion passes, while the same model without the front end passes.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { takeFirst } from '../src/data/index.js';
import { evaluateGate } from '../src/eval/gate.js';
import type { Classifier } from '../src/models/classifier.js';
import { parsePlanText } from '../src/pipeline/plan/load.js';
import { evaluateModel } from '../src/pipeline/run/evaluate-model.js';
import { gateJunit } from '../src/report/junit.js';
import { gateMarkdown } from '../src/report/gate-markdown.js';
import { engine, smallMnist, trainedMlp } from './fixtures.js';

const PLAN = `
name: masked
seed: 1
threats:
  - { id: linf-0.15, channel: image, technique: gradient, norm: linf, epsilon: 0.15, likelihood: likely, impact: major, owner: team-a }
data: { dataset: mnist }
model: { architecture: mlp, baseline: { epochs: 1, learningRate: 0.002 } }
training: { method: standard, epochs: 1, learningRate: 0.002 }
evaluation:
  attacks: [{ id: pgd, options: { steps: 10 } }]
  suite: none
  masking: { limit: 40 }
  latencySamples: 10
  examples: 0
criteria:
  robustAccuracy: { linf-0.15: 0 }
`;

/** round(x·16)/16 in front of the model: predictions barely change, gradients vanish. */
function quantised(base: Classifier): Classifier {
  return { ...base, id: `${base.id}+round16`, logits: (x) => tf.tidy(() => base.logits(tf.div(tf.round(tf.mul(x, 16)), 16))) };
}

describe('gate: gradient-masking checks are criteria', () => {
  before(engine);
  const plan = parsePlanText(PLAN, 'masked.yaml');

  const gateFor = async (model: Classifier) => {
    const data = takeFirst(smallMnist().test, 60);
    const { results, masking } = await evaluateModel({
      plan,
      model,
      name: `masked/${model.id}`,
      sha256: 'ab'.repeat(32),
      data,
      masking: true,
    });
    return { results, masking, gate: evaluateGate(plan.criteria, results) };
  };

  it("fails a quantised model on the masking check, with the checks' explanations", async () => {
    const { results, masking, gate } = await gateFor(quantised(await trainedMlp()));
    assert.equal(masking.length, 1);
    assert.equal(results.masking?.['linf-0.15']?.status, 'fail');
    assert.equal(gate.passed, false);
    const failed = gate.checks.filter((c) => c.status === 'failed');
    // Robust accuracy alone would have let it through: only the masking criterion fails.
    assert.deepEqual(
      failed.map((c) => c.id),
      ['masking:linf-0.15'],
    );
    assert.equal(gate.checks.find((c) => c.id === 'robust-accuracy:linf-0.15')?.passed, true);
    assert.match(failed[0]?.message ?? '', /gradients-nonzero-finite: .*BPDA/);
    assert.match(failed[0]?.message ?? '', /cannot be trusted/);
    assert.match(gateJunit(gate, { name: 'masked' }), /<failure message="[^"]*gradient-masking checks failed at linf-0.15/);
    assert.match(gateMarkdown(gate, { name: 'masked' }), /\*\*masking:linf-0.15\*\*: \d of \d gradient-masking checks failed/);
    // Without the suite, the robust number is marked as an upper bound.
    assert.equal(results.method?.upperBound, true);
    assert.match(gate.checks.find((c) => c.id === 'robust-accuracy:linf-0.15')?.message ?? '', /weaker evaluation: upper bound/);
  });

  it('passes the same model without the front end', async () => {
    const { results, gate } = await gateFor(await trainedMlp());
    assert.equal(results.masking?.['linf-0.15']?.status, 'pass', JSON.stringify(results.masking));
    assert.equal(gate.passed, true, JSON.stringify(gate.checks));
    assert.equal(gate.checks.find((c) => c.id === 'masking:linf-0.15')?.status, 'passed');
  });

  it('turns the masking criterion off with criteria.masking: false', async () => {
    const { results } = await gateFor(quantised(await trainedMlp()));
    assert.equal(evaluateGate({ ...plan.criteria, masking: false }, results).passed, true);
  });
});

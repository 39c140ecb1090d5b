/**
 * Randomised models: the probe tells them apart, a deterministic evaluation refuses to score
 * them (it would overstate their robustness), and the `standard:rand` suite (EOT) breaks the
 * toy randomised defence that single-pass attacks leave standing.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { RampartError } from '../core/errors.js';
import { threatModel } from '../threats/threat-model.js';
import { engine, smallMnist, trainedMlp } from '../../test/fixtures.js';
import { EPSILON, randomised, toyDataset } from '../../test/randomised-toy.js';
import { isStochastic } from './stochastic.js';
import { runSuite, suiteDefinition } from './suite.js';
import { evaluateThreats } from './threat-evaluation.js';

before(engine);

test('the probe tells a randomised model from a deterministic one', async () => {
  const data = toyDataset(8);
  assert.equal(await isStochastic(randomised(), data), true);
  assert.equal(await isStochastic(await trainedMlp(), smallMnist().test), false);
});

test('a deterministic evaluation refuses a randomised model and names standard:rand', async () => {
  const data = toyDataset(8);
  const threats = [threatModel({ id: 'linf-toy', norm: 'linf', epsilon: EPSILON })];
  for (const suite of [suiteDefinition('standard', 'quick'), undefined]) {
    await assert.rejects(
      () => evaluateThreats({ model: randomised(), data, threats, attacks: [{ id: 'pgd' }], ...(suite ? { suite } : {}) }),
      (e: unknown) => e instanceof RampartError && e.code === 'E_STOCHASTIC_MODEL' && /standard:rand/.test(e.message),
    );
  }
});

test('standard:rand (EOT, mean-of-passes predictions) breaks the randomised defence', async () => {
  const data = toyDataset(20);
  const threats = [threatModel({ id: 'linf-toy', norm: 'linf', epsilon: EPSILON })];
  const model = randomised(); // holds its weight tensor
  const tensorsBefore = tf.memory().numTensors;
  const report = await runSuite({ model, data, threats, suite: suiteDefinition('standard', 'rand'), seed: 2 });
  const result = report.results[0];
  assert.ok(result);
  assert.equal(report.clean.correct, 20, 'every toy point is class 0 on average');
  // Single-pass APGD-CE breaks at most 5 of these 20 (eot.test.ts); the EOT suite at least 15.
  assert.ok(result.robustAccuracy <= 0.25, `robust accuracy under standard:rand ${result.robustAccuracy}`);
  assert.equal(tf.memory().numTensors, tensorsBefore, 'no tensors leak');
  const threatRun = await evaluateThreats({ model: randomised(), data, threats, attacks: [], suite: suiteDefinition('standard', 'rand') });
  assert.equal(threatRun.threats[0]?.threat, 'linf-toy');
});

import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {
  CalibratedClassifier,
  abstentionReport,
  chooseAbstentionThreshold,
  predictWithAbstention,
  selectiveMetrics,
} from './calibrated-classifier.js';
import { engine, linearModel, smallMnist, trainedMlp } from '../../test/fixtures.js';
import { loadBundledMnist, splitDataset, takeFirst } from '../data/index.js';
import { UsageError } from '../core/errors.js';

before(engine);

test('the wrapper divides logits and their input gradient by T and keeps the class', () => {
  const base = linearModel(
    [
      [1, 0],
      [0, 2],
      [-1, 1],
    ],
    [0, 0.5, 0],
  );
  const calibrated = new CalibratedClassifier(base, 2.5);
  const x = tf.tensor2d([
    [0.3, -0.2],
    [1, 1],
  ]);
  const [zb, zc, gb, gc] = tf.tidy(() => {
    const pick = (m: CalibratedClassifier | typeof base) => (input: tf.Tensor) =>
      tf.sum(
        tf.mul(
          m.logits(input),
          tf.tensor2d([
            [1, 0, 0],
            [0, 1, 0],
          ]),
        ),
      );
    return [
      base.logits(x).arraySync(),
      calibrated.logits(x).arraySync(),
      tf.grad(pick(base))(x).arraySync(),
      tf.grad(pick(calibrated))(x).arraySync(),
    ] as number[][][];
  });
  zb!.flat().forEach((v, i) => assert.ok(Math.abs(v / 2.5 - zc!.flat()[i]!) < 1e-6));
  gb!.flat().forEach((v, i) => assert.ok(Math.abs(v / 2.5 - gc!.flat()[i]!) < 1e-6));
  assert.equal(calibrated.differentiable, true);
  assert.throws(
    () => new CalibratedClassifier(base, 0),
    (e: unknown) => e instanceof UsageError && e.code === 'E_TEMPERATURE_OPTION',
  );
  x.dispose();
  base.model.dispose();
});

test('predictWithAbstention answers only above the threshold', async () => {
  // Logits [0, s]: confidence of class 1 is sigmoid(s).
  const m = linearModel([[0], [1]], [0, 0]);
  const x = tf.tensor2d([[3], [0.2], [-4]]);
  const tensors = tf.memory().numTensors;
  const out = await predictWithAbstention(m, x, { threshold: 0.9 });
  assert.equal(tf.memory().numTensors, tensors);
  assert.deepEqual(out.predictions, [1, null, 0]);
  assert.ok(Math.abs(out.confidences[0]! - 1 / (1 + Math.exp(-3))) < 1e-6);
  assert.deepEqual((await predictWithAbstention(m, x, { threshold: 0 })).predictions, [1, 1, 0]);
  await assert.rejects(predictWithAbstention(m, x, { threshold: -0.1 }), /E_ABSTENTION_OPTION|threshold/);
  x.dispose();
  m.model.dispose();
});

test('thresholds for a target coverage or risk, worked by hand', () => {
  const conf = [0.99, 0.95, 0.9, 0.8, 0.7, 0.6, 0.55, 0.5];
  const correct = [1, 1, 0, 1, 1, 0, 0, 1];
  const cov = chooseAbstentionThreshold(conf, correct, { coverage: 0.5 });
  assert.equal(cov.threshold, 0.8);
  assert.equal(cov.metrics.coverage, 0.5);
  assert.equal(cov.metrics.selectiveAccuracy, 0.75);
  // Risk <= 0.25: answering the top 5 has 1 error in 5 (0.2); the top 6 has 2 in 6 (0.33).
  const risk = chooseAbstentionThreshold(conf, correct, { risk: 0.25 });
  assert.equal(risk.threshold, 0.7);
  assert.ok(risk.feasible);
  assert.ok(Math.abs(risk.metrics.selectiveRisk - 0.2) < 1e-12);
  const none = chooseAbstentionThreshold([0.9, 1], [0, 0], { risk: 0.1 });
  assert.equal(none.feasible, false);
  assert.equal(none.metrics.answered, 0, 'infeasible: abstain on everything, even confidence 1');
  const m = selectiveMetrics(conf, correct, 0.9);
  assert.deepEqual([m.answered, m.coverage, m.abstentionRate, m.fullAccuracy], [3, 0.375, 0.625, 0.625]);
  assert.throws(() => chooseAbstentionThreshold(conf, correct, { coverage: 1.2 }), /must be in \[0, 1\]; got 1.2/);
});

test('abstention on a trained model: higher threshold, lower coverage, better selective accuracy', async () => {
  const model = await trainedMlp();
  const splits = splitDataset(loadBundledMnist(), { seed: 7, fractions: { train: 0.8, validation: 0.1, test: 0.1 } });
  const validation = takeFirst(splits.validation, 200);
  const test = smallMnist().test;
  const loose = await abstentionReport({ model, validation, test, target: { coverage: 0.95 } });
  const strict = await abstentionReport({ model, validation, test, target: { coverage: 0.6 } });
  assert.ok(Math.abs(loose.validation.coverage - 0.95) < 0.01);
  assert.ok(strict.choice.threshold > loose.choice.threshold);
  assert.ok(strict.test.coverage < loose.test.coverage);
  assert.ok(
    strict.test.selectiveAccuracy >= loose.test.selectiveAccuracy,
    `${strict.test.selectiveAccuracy} vs ${loose.test.selectiveAccuracy}`,
  );
  assert.ok(strict.test.selectiveAccuracy > strict.test.fullAccuracy);
  const risk = await abstentionReport({ model, validation, test, target: { risk: 0.02 } });
  assert.ok(risk.validation.selectiveRisk <= 0.02);
});

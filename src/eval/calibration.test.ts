import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { calibrationFromLogits, calibrationFromProbabilities, calibrationMetric, calibrationReport } from './calibration.js';
import { engine, smallMnist, trainedMlp } from '../../test/fixtures.js';
import { takeFirst } from '../data/index.js';
import { createAttack } from '../attacks/registry.js';
import { threatModel } from '../threats/threat-model.js';
import { createRng } from '../core/rng.js';
import { InputError, UsageError } from '../core/errors.js';

before(engine);

const near = (a: number, b: number, what: string, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

// Four examples worked by hand (bins of width 0.2): confidences 0.95 (right), 0.85 (wrong)
// in bin 4 → gap |0.5 - 0.9| = 0.4; 0.65 (right), 0.75 (wrong) in bin 3 → gap 0.2.
const probabilities = [0.95, 0.05, 0.85, 0.15, 0.35, 0.65, 0.25, 0.75];
const labels = Int32Array.from([0, 1, 1, 0]);

test('hand-computed ECE, MCE, Brier, NLL and reliability bins', () => {
  const m = calibrationFromProbabilities(probabilities, labels, 2, { bins: 5 });
  near(m.ece, 0.5 * 0.4 + 0.5 * 0.2, 'ECE');
  near(m.mce, 0.4, 'MCE');
  // Equal-mass with 5 bins over 4 examples: one example per non-empty bin, gaps 0.35, 0.75, 0.85, 0.05.
  near(m.eceEqualMass, (0.35 + 0.75 + 0.85 + 0.05) / 4, 'equal-mass ECE');
  assert.equal(m.reliabilityEqualMass.length, 4);
  near(m.brier, (0.005 + 1.445 + 0.245 + 1.125) / 4, 'Brier');
  near(m.nll, -(Math.log(0.95) + Math.log(0.15) + Math.log(0.65) + Math.log(0.25)) / 4, 'NLL');
  assert.equal(m.accuracy, 0.5);
  assert.deepEqual(
    m.reliability.map((b) => b.count),
    [0, 0, 0, 2, 2],
  );
  near(m.reliability[4]!.meanConfidence, 0.9, 'bin 4 confidence');
  near(m.reliability[3]!.accuracy, 0.5, 'bin 3 accuracy');
  // The same numbers from logits (log-probabilities are valid logits) and streamed in two batches.
  const logits = probabilities.map(Math.log);
  const fromLogits = calibrationFromLogits(logits, labels, 2, { bins: 5 });
  near(fromLogits.ece, m.ece, 'ECE from logits');
  near(fromLogits.nll, m.nll, 'NLL from logits');
  const metric = calibrationMetric(2, { bins: 5 });
  metric.update({ logits: logits.slice(0, 4), labels: labels.slice(0, 2) });
  metric.update({ logits: logits.slice(4), labels: labels.slice(2) });
  const streamed = metric.compute();
  near(streamed.ece, m.ece, 'streamed ECE');
  near(streamed.brier, m.brier, 'streamed Brier');
});

test('a calibrated source has small ECE; the same scores sharpened are overconfident', () => {
  // Binary scores whose confidence equals the true chance of being right.
  const rng = createRng(9);
  const n = 20000;
  const logits = new Float32Array(2 * n);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const p = 0.5 + 0.5 * rng.next();
    logits[2 * i + 1] = Math.log(p / (1 - p));
    y[i] = rng.next() < p ? 1 : 0;
  }
  const calibrated = calibrationFromLogits(logits, y, 2);
  assert.ok(calibrated.ece < 0.015, `calibrated ECE ${calibrated.ece}`);
  assert.ok(calibrated.eceEqualMass < 0.015, `calibrated equal-mass ECE ${calibrated.eceEqualMass}`);
  const sharpened = calibrationFromLogits(
    logits.map((v) => 4 * v),
    y,
    2,
  );
  assert.ok(sharpened.ece > 0.1, `overconfident ECE ${sharpened.ece}`);
  assert.ok(sharpened.meanConfidence > sharpened.accuracy + 0.1);
  assert.ok(sharpened.nll > calibrated.nll && sharpened.brier > calibrated.brier);
});

test('clean and adversarial calibration of a trained model', async () => {
  const model = await trainedMlp();
  const data = takeFirst(smallMnist().test, 100);
  const attack = createAttack('fgsm');
  const threat = threatModel({ norm: 'linf', epsilon: 0.15 });
  const tensors = tf.memory().numTensors;
  const report = await calibrationReport({ model, data, attack, threat, bins: 10, batchSize: 50, seed: 1 });
  assert.equal(tf.memory().numTensors, tensors, 'calibration report leaked tensors');
  assert.ok(report.clean.accuracy > 0.7);
  const adv = report.adversarial!;
  assert.ok(adv.accuracy < report.clean.accuracy - 0.2, `attack should hurt: ${adv.accuracy} vs ${report.clean.accuracy}`);
  assert.ok(adv.nll > report.clean.nll && adv.ece > report.clean.ece, 'adversarial inputs are worse calibrated');
  assert.equal(adv.attack.id, 'fgsm');
  assert.equal(
    report.clean.reliability.reduce((s, b) => s + b.count, 0),
    100,
  );
  assert.deepEqual(JSON.parse(JSON.stringify(report)), report, 'plain serialisable');
});

test('bad inputs are named', async () => {
  assert.throws(
    () => calibrationFromLogits([1, 2, 3], labels, 2),
    (e: unknown) => e instanceof InputError && e.code === 'E_CALIBRATION_INPUT' && /3 logits for 4 labels/.test(e.message),
  );
  assert.throws(() => calibrationFromProbabilities([1.5, -0.5], Int32Array.from([0]), 2), /Probability 0 is 1.5/);
  assert.throws(() => calibrationFromLogits([0, 0], Int32Array.from([2]), 2), /Label 0 is 2/);
  assert.throws(
    () => calibrationFromLogits([0, 0], Int32Array.from([1]), 2, { bins: 0 }),
    (e: unknown) => e instanceof UsageError && /'bins'/.test(e.message),
  );
  const model = await trainedMlp();
  await assert.rejects(
    calibrationReport({ model, data: takeFirst(smallMnist().test, 5), attack: createAttack('fgsm') }),
    /both an attack and a threat/,
  );
});

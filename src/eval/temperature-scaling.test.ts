import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { fitTemperature, temperatureNll, temperatureScaling } from './temperature-scaling.js';
import { engine, smallMnist, trainedMlp } from '../../test/fixtures.js';
import { loadBundledMnist, splitDataset, takeFirst } from '../data/index.js';
import { createRng } from '../core/rng.js';
import { UsageError, DataError } from '../core/errors.js';
import { buildModel } from '../models/architectures.js';
import { loadClassifierModel, saveClassifierModel } from '../models/store.js';
import { CalibratedClassifier, loadCalibratedClassifier, saveTemperature } from '../models/calibrated-classifier.js';
import { saveModel } from '../models/io/index.js';

before(engine);

/** Labels drawn from softmax(z) for random z; the returned logits are z * scale, so the best T is about `scale`. */
function synthetic(n: number, k: number, scale: number, seed: number): { logits: Float32Array; labels: Int32Array } {
  const rng = createRng(seed);
  const logits = new Float32Array(n * k);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const z = Array.from({ length: k }, () => 2 * rng.normal());
    const max = Math.max(...z);
    const p = z.map((v) => Math.exp(v - max));
    const sum = p.reduce((a, b) => a + b, 0);
    let u = rng.next() * sum;
    let y = 0;
    while (y < k - 1 && u >= (p[y] as number)) u -= p[y++] as number;
    labels[i] = y;
    z.forEach((v, c) => (logits[i * k + c] = v * scale));
  }
  return { logits, labels };
}

test('recovers the temperature of over- and under-confident logits', () => {
  for (const scale of [3, 0.5]) {
    const { logits, labels } = synthetic(5000, 5, scale, 21);
    const fit = fitTemperature(logits, labels, 5);
    assert.ok(Math.abs(fit.temperature / scale - 1) < 0.08, `scale ${scale}: fitted T ${fit.temperature}`);
    assert.ok(fit.nllAfter < fit.nllBefore, 'NLL falls');
    assert.equal(fit.atBoundary, false);
    // Golden section found the minimum: no point of a fine grid does better.
    for (let u = Math.log(0.05); u <= Math.log(20); u += 0.01)
      assert.ok(fit.nllAfter <= temperatureNll(logits, labels, 5, Math.exp(u)) + 1e-9);
    assert.ok(fit.evaluations < 60);
  }
});

test('perfectly separated validation data push T to the edge, and say so', () => {
  const logits = Float32Array.from([5, 0, 0, 5, 4, -1]);
  const fit = fitTemperature(logits, Int32Array.from([0, 1, 0]), 2, { minTemperature: 0.1, maxTemperature: 10 });
  assert.equal(fit.atBoundary, true);
  assert.ok(fit.temperature < 0.11);
  assert.throws(
    () => fitTemperature(logits, Int32Array.from([0, 1, 0]), 2, { minTemperature: 2, maxTemperature: 1 }),
    (e: unknown) => e instanceof UsageError && e.code === 'E_TEMPERATURE_OPTION',
  );
});

test('temperature scaling a trained model: validation NLL falls, predictions unchanged, T saved and loaded with the model', async () => {
  const model = await trainedMlp();
  const splits = splitDataset(loadBundledMnist(), { seed: 7, fractions: { train: 0.8, validation: 0.1, test: 0.1 } });
  const validation = takeFirst(splits.validation, 300);
  const test = smallMnist().test;
  const tensors = tf.memory().numTensors;
  const report = await temperatureScaling({ model, validation, test, bins: 10 });
  assert.equal(tf.memory().numTensors, tensors);
  assert.ok(report.validation.after.nll <= report.validation.before.nll + 1e-12);
  assert.equal(report.validation.after.accuracy, report.validation.before.accuracy, 'T never changes the argmax');
  assert.equal(report.test!.after.accuracy, report.test!.before.accuracy);
  assert.ok(report.fit.temperature > 0 && !report.fit.atBoundary, `T = ${report.fit.temperature}`);

  const dir = await mkdtemp(join(tmpdir(), 'rampart-temp-'));
  try {
    const small = buildModel('linear', { inputShape: [2, 2], numClasses: 3, seed: 1 });
    await saveClassifierModel(small, dir, { architecture: 'linear', inputShape: [2, 2], numClasses: 3, bounds: { min: 0, max: 1 } });
    small.dispose();
    const plain = await loadCalibratedClassifier(dir);
    assert.equal(plain.calibrated.temperature, 1, 'no temperature saved: T = 1');
    plain.model.dispose();
    await saveTemperature(dir, report.fit.temperature);
    const loaded = await loadCalibratedClassifier(dir);
    assert.equal(loaded.info.temperature, report.fit.temperature);
    assert.ok(loaded.calibrated instanceof CalibratedClassifier);
    const x = tf.tensor3d([
      [
        [0.1, 0.9],
        [0.3, 0.5],
      ],
    ]);
    const [base, scaled] = tf.tidy(() => [loaded.classifier.logits(x).arraySync(), loaded.calibrated.logits(x).arraySync()]);
    base![0]!.forEach((v, c) => assert.ok(Math.abs(v / report.fit.temperature - scaled![0]![c]!) < 1e-5));
    x.dispose();
    loaded.model.dispose();
    await assert.rejects(saveTemperature(dir, -1), /finite number > 0/);
    const bad = await loadClassifierModel(dir);
    await saveModel(bad.model, dir, { rampart: { ...bad.info, temperature: -2 } });
    bad.model.dispose();
    await assert.rejects(
      loadClassifierModel(dir),
      (e: unknown) => e instanceof DataError && e.code === 'E_MODEL_METADATA' && /temperature/.test(e.message),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { certifiedAccuracy, certify, predictSmoothed } from './smoothing.js';
import { clopperPearsonLower, normalCdf, normalInverseCdf } from './binomial.js';
import { engine, linearModel } from '../../test/fixtures.js';
import type { Dataset } from '../core/types.js';
import { UsageError } from '../core/errors.js';

before(engine);

// A binary linear classifier: class 1 iff w·x + b > 0. Under x + N(0, σ²I) the score is
// N(w·x + b, σ²|w|²), so the smoothed class is the base class, pA = Φ(|w·x + b| / (σ|w|)),
// and the exact certified radius σΦ⁻¹(pA) is the distance to the hyperplane.
const w = [3, 4];
const b = -1;
const norm = 5;
const sigma = 0.5;
const model = () => linearModel([[0, 0], w], [0, b]);
const points = [
  [1, 0.5], // score 4, distance 0.8, pA = Φ(1.6)
  [-0.2, 0], // score -1.6, distance 0.32, pA = Φ(0.64)
  [0.2, 0.1], // on the boundary: pA = 1/2, must abstain
  [10, 10], // far away: all samples vote the same
];
const score = (p: number[]) => (w[0] as number) * (p[0] as number) + (w[1] as number) * (p[1] as number) + b;

test('CERTIFY on a linear classifier: radius within the Clopper-Pearson slack of the exact distance', async () => {
  const m = model();
  const n = 4000;
  const alpha = 0.001;
  const x = tf.tensor2d(points);
  const tensors = tf.memory().numTensors;
  const certs = await certify(m, x, { sigma, n0: 100, n, alpha, seed: 11, batchSize: 1000 });
  assert.equal(tf.memory().numTensors, tensors, 'certify leaked tensors');
  for (const [i, p] of [points[0], points[1]].entries()) {
    const s = score(p as number[]);
    const distance = Math.abs(s) / norm;
    const pA = normalCdf(distance / sigma);
    const c = certs[i]!;
    assert.equal(c.prediction, s > 0 ? 1 : 0, `example ${i} class`);
    const sd = Math.sqrt(n * pA * (1 - pA));
    assert.ok(Math.abs(c.candidateCount - n * pA) <= 4.5 * sd, `example ${i}: count ${c.candidateCount} vs expected ${n * pA}`);
    // The certificate must be sound, and no looser than the bound from a count 4.5 sd low.
    assert.ok(c.pALower <= pA, `example ${i}: pALower ${c.pALower} > true pA ${pA}`);
    assert.ok(c.radius <= distance, `example ${i}: certified ${c.radius} beyond the exact radius ${distance}`);
    const slackRadius = sigma * normalInverseCdf(clopperPearsonLower(Math.floor(n * pA - 4.5 * sd), n, alpha));
    assert.ok(c.radius >= slackRadius, `example ${i}: radius ${c.radius} below the slack bound ${slackRadius} (exact ${distance})`);
    assert.equal(c.radius, sigma * normalInverseCdf(c.pALower));
  }
  assert.equal(certs[2]!.prediction, null, 'the boundary point abstains');
  assert.equal(certs[2]!.radius, 0);
  const far = certs[3]!;
  assert.equal(far.candidateCount, n);
  assert.ok(Math.abs(far.pALower - alpha ** (1 / n)) < 1e-12, 'all votes agree: pA_lower = alpha^(1/n)');
  assert.ok(Math.abs(far.radius - sigma * normalInverseCdf(alpha ** (1 / n))) < 1e-9, 'radius capped by n, not by the distance');

  const again = await certify(m, x, { sigma, n0: 100, n, alpha, seed: 11, batchSize: 1000 });
  assert.deepEqual(again, certs, 'same seed and noise batch, same certificates');
  const other = await certify(m, x, { sigma, n0: 100, n, alpha, seed: 12 });
  assert.notDeepEqual(
    other.map((c) => c.candidateCount),
    certs.map((c) => c.candidateCount),
  );
  x.dispose();
  m.model.dispose();
});

test('PREDICT returns the smoothed class or abstains at the boundary', async () => {
  const m = model();
  const x = tf.tensor2d(points);
  const predictions = await predictSmoothed(m, x, { sigma, n: 2000, alpha: 0.001, seed: 3 });
  assert.deepEqual(
    predictions.map((p) => p.prediction),
    [1, 0, null, 1],
  );
  for (const p of predictions)
    assert.equal(
      p.counts.reduce((a, c) => a + c, 0),
      2000,
    );
  assert.ok(predictions[2]!.pValue > 0.001);
  assert.equal(predictions[3]!.counts[1], 2000);
  x.dispose();
  m.model.dispose();
});

test('certified accuracy at radii counts right answers with large enough radii', async () => {
  const m = model();
  const labels = [1, 0, 1, 0]; // the last one is labelled wrong on purpose
  const data: Dataset = {
    name: 'plane',
    shape: [2],
    x: Float32Array.from(points.flat()),
    y: Int32Array.from(labels),
    numClasses: 2,
    bounds: { min: -100, max: 100 },
    count: 4,
  };
  const report = await certifiedAccuracy({ model: m, data, sigma, n0: 50, n: 2000, alpha: 0.001, radii: [0.5, 0, 0.3, 2], seed: 5 });
  assert.deepEqual(
    report.curve.map((c) => c.radius),
    [0, 0.3, 0.5, 2],
  );
  // Example 0 (distance 0.8) and 1 (0.32) are right; 2 abstains; 3 is certified but wrong.
  const expected = report.examples.map((e) => e.prediction);
  assert.deepEqual(expected, [1, 0, null, 1]);
  assert.equal(report.curve[0]!.certifiedAccuracy, 0.5);
  assert.equal(report.abstentionRate, 0.25);
  assert.equal(report.smoothedAccuracy, 0.5);
  const r1 = report.examples[1]!.radius;
  const r0 = report.examples[0]!.radius;
  assert.equal(report.curve[1]!.count, (r0 >= 0.3 ? 1 : 0) + (r1 >= 0.3 ? 1 : 0));
  assert.equal(report.curve[3]!.count, 0, 'nothing is certified beyond its own distance');
  assert.ok(report.curve.every((c, i) => i === 0 || c.certifiedAccuracy <= report.curve[i - 1]!.certifiedAccuracy));
  assert.doesNotThrow(() => JSON.stringify(report));
  m.model.dispose();
});

test('bad smoothing options fail with the option named', async () => {
  const m = model();
  const x = tf.tensor2d([[0, 0]]);
  await assert.rejects(
    certify(m, x, { sigma: 0 }),
    (e: unknown) => e instanceof UsageError && e.code === 'E_SMOOTHING_OPTION' && /'sigma'/.test(e.message),
  );
  await assert.rejects(certify(m, x, { sigma: 0.5, alpha: 1 }), /'alpha' must be in \(0, 1\)/);
  await assert.rejects(certify(m, x, { sigma: 0.5, n: 2.5 }), /'n' must be a whole number/);
  await assert.rejects(certify(m, tf.tensor2d([[0, 0, 0]]), { sigma: 0.5 }), /E_INPUT_SHAPE|shape/);
  x.dispose();
  m.model.dispose();
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../engine/backend.js';
import { UsageError } from '../../core/errors.js';
import { spamAssassinSplits } from '../../data/text/spam-assassin.js';
import { sampleTexts } from '../../data/text/text-dataset.js';
import type { TextDataset } from '../../data/text/text-dataset.js';
import { trainTextClassifier } from '../../training/text/train.js';
import { chooseDecisionThreshold, withDecisionThreshold } from './decision-threshold.js';
import type { TextClassifier } from './text-classifier.js';

/** A hand-built filter whose spam probability is the number written in the text. */
const scored: TextClassifier = {
  id: 'scored',
  classes: ['ham', 'spam'],
  predictProba: async (texts) => texts.map((t) => Float32Array.of(1 - Number(t), Number(t))),
};

test('a threshold flags the positive class from that probability on, and keeps rows summing to 1', async () => {
  const filter = withDecisionThreshold(scored, { positiveClass: 1, threshold: 0.1 });
  const rows = await filter.predictProba(['0.2', '0.11', '0.09', '0.01', '0.9']);
  assert.deepEqual(
    rows.map((p) => (p[1]! > p[0]! ? 'spam' : 'ham')),
    ['spam', 'spam', 'ham', 'ham', 'spam'],
  );
  for (const p of rows) assert.ok(Math.abs(p[0]! + p[1]! - 1) < 1e-6);
  // Ranking is kept: a higher score stays higher.
  assert.ok(rows[0]![1]! > rows[1]![1]! && rows[1]![1]! > rows[2]![1]!);
  const plain = await withDecisionThreshold(scored, { positiveClass: 1, threshold: 0.5 }).predictProba(['0.3']);
  assert.ok(Math.abs(plain[0]![1]! - 0.3) < 1e-6, '0.5 leaves the probabilities as they were');
  assert.equal(filter.id, 'scored@0.1');
});

test('the white-box logits of a thresholded model give its probabilities', async () => {
  await initEngine();
  const splits = spamAssassinSplits({ seed: 5, maxChars: 600 });
  const model = (await trainTextClassifier(sampleTexts(splits.train, 200, 1), { epochs: 2, featurizer: { buckets: 1024 }, seed: 3 }))
    .classifier;
  try {
    const filter = withDecisionThreshold(model, { positiveClass: 1, threshold: 0.05 });
    const texts = splits.test.texts.slice(0, 6);
    const viaProba = await filter.predictProba(texts);
    const viaLogits = tf.tidy(
      () => tf.softmax(filter.whiteBox!.logitsFromFeatures(filter.whiteBox!.features(texts))).arraySync() as number[][],
    );
    viaProba.forEach((p, i) => assert.ok(Math.abs(p[1]! - viaLogits[i]![1]!) < 1e-4, `text ${i}: ${p[1]} vs ${viaLogits[i]![1]}`));
  } finally {
    model.dispose();
  }
});

test('the chosen threshold is the lowest whose validation F1 stays within the allowed loss', async () => {
  // 10 spam scored 0.95 (x8) and 0.04 (x2); 10 ham scored 0.015 (x7) and 0.12 (x3).
  const scores = [...Array(8).fill(0.95), 0.04, 0.04, ...Array(7).fill(0.015), 0.12, 0.12, 0.12];
  const validation: TextDataset = {
    name: 'v',
    classes: ['ham', 'spam'],
    texts: scores.map(String),
    labels: [...Array(10).fill(1), ...Array(10).fill(0)],
  };
  // 0.5 to 0.15: P 1, R 0.8, F1 0.889. 0.1 to 0.05: 3 false positives, F1 0.762.
  // 0.03 and 0.02: R 1, P 10/13, F1 0.870. 0.01: every ham flagged, F1 0.667.
  const strict = await chooseDecisionThreshold(scored, validation, { maxF1Loss: 0 });
  assert.equal(strict.threshold, 0.15, 'with no loss allowed, the lowest threshold as good as 0.5');
  assert.ok(Math.abs(strict.f1AtHalf - 8 / 9) < 1e-9);
  // The F1 tolerance alone would go to 0.02, but 0.1 and below flag 3 of 10 ham (30%): over the 1% budget.
  const budgeted = await chooseDecisionThreshold(scored, validation, { maxF1Loss: 0.03 });
  assert.equal(budgeted.threshold, 0.15, 'the default 1% false-positive budget binds first');
  assert.equal(budgeted.falsePositiveRate, 0);
  const loose = await chooseDecisionThreshold(scored, validation, { maxF1Loss: 0.03, maxFalsePositiveRate: 0.3 });
  assert.equal(loose.threshold, 0.02, 'the lowest candidate within 3 points, past worse ones above it');
  assert.ok(Math.abs(loose.recall - 1) < 1e-9);
  assert.ok(Math.abs(loose.falsePositiveRate - 0.3) < 1e-9);
  assert.equal(loose.scanned.length, 18);
});

test('by default the operating point is the best F1 among thresholds within the false-positive budget', async () => {
  // 10 spam: 0.97 (x6), 0.6 (x2), 0.25 (x2). 100 ham: 0.001 (x98), 0.55, 0.22.
  const spam = [...Array(6).fill(0.97), 0.6, 0.6, 0.25, 0.25];
  const ham = [...Array(98).fill(0.001), 0.55, 0.22];
  const validation: TextDataset = {
    name: 'v',
    classes: ['ham', 'spam'],
    texts: [...spam, ...ham].map(String),
    labels: [...Array(10).fill(1), ...Array(100).fill(0)],
  };
  // 0.6: R 0.8, no ham, F1 0.889. 0.5 to 0.3: one ham (1%), R 0.8. 0.2: R 1 and 2% FPR, F1 0.909.
  const onePercent = await chooseDecisionThreshold(scored, validation);
  assert.equal(onePercent.threshold, 0.6, 'the best F1 within 1% (0.5 flags a ham for nothing)');
  assert.equal(onePercent.withinBudget, true);
  assert.equal(onePercent.maxFalsePositiveRate, 0.01);
  const twoPercent = await chooseDecisionThreshold(scored, validation, { maxFalsePositiveRate: 0.02 });
  // 0.2 down to 0.01 score alike (no more ham until 0.001); of equals, the lowest, which the attacker must push furthest.
  assert.equal(twoPercent.threshold, 0.01, 'a looser budget buys the recall of the last two spam');
  assert.ok(Math.abs(twoPercent.recall - 1) < 1e-9);
  // A ham scored above every candidate: no threshold meets a zero budget; the least ham flagged wins.
  const hopeless = { ...validation, texts: [...validation.texts.slice(0, 109), '0.995'] };
  const none = await chooseDecisionThreshold(scored, hopeless, { maxFalsePositiveRate: 0 });
  assert.equal(none.withinBudget, false);
  assert.equal(none.threshold, 0.6, 'of the thresholds flagging only that ham, the best F1');
  assert.ok(Math.abs(none.falsePositiveRate - 0.01) < 1e-9);
  await assert.rejects(chooseDecisionThreshold(scored, validation, { maxFalsePositiveRate: 1.5 }), /maxFalsePositiveRate must be a share/);
});

test('bad thresholds, classes and validation sets are refused with E_DECISION_THRESHOLD', async () => {
  for (const threshold of [0, 1, -0.2, Number.NaN]) {
    assert.throws(
      () => withDecisionThreshold(scored, { positiveClass: 1, threshold }),
      (e: unknown) => e instanceof UsageError && e.code === 'E_DECISION_THRESHOLD',
    );
  }
  assert.throws(
    () => withDecisionThreshold(scored, { positiveClass: 2, threshold: 0.2 }),
    /class 2 is not one of the model's; use 0\.\.1 \(ham, spam\)/,
  );
  const empty: TextDataset = { name: 'none', classes: ['ham', 'spam'], texts: [], labels: [] };
  await assert.rejects(chooseDecisionThreshold(scored, empty), /validation set 'none' is empty/);
  const one: TextDataset = { name: 'one', classes: ['ham', 'spam'], texts: ['0.5'], labels: [1] };
  await assert.rejects(
    chooseDecisionThreshold(scored, one, { candidates: [0.2, 1.5] }),
    (e: unknown) => e instanceof UsageError && e.code === 'E_DECISION_THRESHOLD',
  );
  await assert.rejects(chooseDecisionThreshold(scored, one, { maxF1Loss: -1 }), /maxF1Loss must be >= 0/);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initEngine } from '../../engine/backend.js';
import { spamAssassinSplits } from '../../data/text/spam-assassin.js';
import { sampleTexts } from '../../data/text/text-dataset.js';
import { evaluateTextClassifier } from '../../models/text/metrics.js';
import { trainCharCnnClassifier } from './train-char-cnn.js';
import { trainTextClassifier } from './train.js';

// A tiny split of real mail: the defaults must learn spam from a few hundred messages in a few epochs.
const splits = spamAssassinSplits({ seed: 7, maxChars: 600 });
const train = sampleTexts(splits.train, 600, 1);
const test_ = sampleTexts(splits.test, 240, 2);

test('with its defaults the char-CNN trains to a sensible F1 on a tiny split, near the n-gram filter on the same split', async () => {
  await initEngine();
  const { classifier: cnn } = await trainCharCnnClassifier(train, { cnn: { maxChars: 256 }, seed: 1 });
  const { classifier: ngram } = await trainTextClassifier(train, { seed: 1 });
  try {
    const c = await evaluateTextClassifier(cnn, test_);
    const n = await evaluateTextClassifier(ngram, test_);
    const report = `char-CNN F1 ${(c.f1 * 100).toFixed(1)}, n-gram F1 ${(n.f1 * 100).toFixed(1)}`;
    // The old defaults (4 epochs at 0.002) reached 0.72 here.
    assert.ok(c.f1 >= 0.8, report);
    assert.ok(c.f1 >= n.f1 - 0.05, report);
  } finally {
    cnn.dispose();
    ngram.dispose();
  }
});

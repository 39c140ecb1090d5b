import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../engine/backend.js';
import { RampartError } from '../../core/errors.js';
import { spamAssassinSplits } from '../../data/text/spam-assassin.js';
import { sampleTexts } from '../../data/text/text-dataset.js';
import { trainCharCnnClassifier, type TrainCharCnnOptions } from '../../training/text/train-char-cnn.js';
import { trainTextAdversarially } from '../../training/text/adversarial-rounds.js';
import { createTextAttack } from '../../attacks/text/registry.js';
import { textThreatModel } from '../../threats/text-threat.js';
import { normalizedClassifier } from '../../defenses/normalize-text/normalized-classifier.js';
import { buildCharCnnModel, CharCnnTextClassifier, type CharCnnConfig } from './char-cnn.js';
import { charCodes, paddedLength } from './char-codes.js';
import { loadCharCnnClassifier, saveCharCnnClassifier } from './char-cnn-store.js';
import { meanTextEnsemble } from './ensemble.js';
import { loadTextClassifier, saveDecisionThreshold } from './store.js';
import { withDecisionThreshold } from './decision-threshold.js';
import { loadSavedTextFilter } from '../../defenses/normalize-text/saved-filter.js';
import type { TextClassifier } from './text-classifier.js';

const splits = spamAssassinSplits({ seed: 5, maxChars: 800 });
const train = sampleTexts(splits.train, 160, 1);
// Small and without dropout: these tests check mechanics fast (train-char-cnn.test.ts checks the defaults learn).
const CNN: Partial<CharCnnConfig> = { maxChars: 256, embedding: 8, filters: 12, kernel: 5, hidden: 8, dropout: 0 };

test('char codes: lower-cased, whitespace folded, cut to maxChars; padding depends on the length only', () => {
  const codes = charCodes('Hi  \t there!\n\n  Zz\u00e9', 64);
  assert.equal(codes.length, 'hi there!\nzz\u00e9'.length);
  assert.deepEqual([...codes.slice(0, 3)], [7, 8, 36]);
  assert.equal(charCodes('x'.repeat(5000), 300).length, 300);
  assert.equal(paddedLength(0, 1024), 64);
  assert.equal(paddedLength(65, 1024), 128);
  assert.equal(paddedLength(5000, 1024), 1024);
  assert.throws(
    () => charCodes('a', 8),
    (e: unknown) => e instanceof RampartError && e.code === 'E_CHAR_CNN_OPTION',
  );
  assert.throws(
    () => buildCharCnnModel({ maxChars: 256, embedding: 8, filters: 0, kernel: 5, hidden: 0 }, 2, 1),
    /filters must be a whole number/,
  );
  assert.throws(
    () => buildCharCnnModel({ maxChars: 256, embedding: 8, filters: 4, kernel: 5, hidden: 0, dropout: 0.95 }, 2, 1),
    /dropout must be a share in \[0, 0.9\)/,
  );
});

test('the char-CNN trains (loss drops), scores a text alike alone or in a batch, and does not leak tensors', async () => {
  await initEngine();
  const losses: number[] = [];
  const before = tf.memory().numTensors;
  const { classifier } = await trainCharCnnClassifier(train, {
    epochs: 4,
    learningRate: 0.01,
    seed: 3,
    cnn: CNN,
    onEpoch: (p) => losses.push(p.loss),
  });
  try {
    const trace = losses.map((l) => l.toFixed(3)).join(' -> ');
    assert.ok(
      losses.every((l, i) => i === 0 || l < (losses[i - 1] as number)),
      `loss falls every epoch: ${trace}`,
    );
    assert.ok((losses.at(-1) as number) < (losses[0] as number) * 0.9, `loss ${trace}`);
    const texts = splits.test.texts.slice(0, 12);
    const batch = await classifier.predictProba(texts);
    const alone = await classifier.predictProba([texts[5] as string]);
    for (let c = 0; c < 2; c++) assert.ok(Math.abs(alone[0]![c]! - batch[5]![c]!) < 1e-5, 'batch-independent score');
    for (const p of batch) assert.ok(Math.abs(p[0]! + p[1]! - 1) < 1e-5);
    // Past maxChars the text is not read: a long text scores as its prefix.
    const long = `${'win money now '.repeat(40)}${'meeting notes '.repeat(40)}`;
    const [a, b] = await classifier.predictProba([long, long.slice(0, 256 + 20)]);
    assert.ok(Math.abs(a![1]! - b![1]!) < 1e-6);
    const held = tf.memory().numTensors;
    for (let k = 0; k < 3; k++) await classifier.predictProba(texts);
    assert.equal(tf.memory().numTensors, held, 'queries leave no tensors behind');
  } finally {
    classifier.dispose();
  }
  assert.equal(tf.memory().numTensors, before, 'training and disposal leave no tensors behind');
});

test('save/load round trip gives the same probabilities; the hashed loader refuses a char-CNN', async () => {
  await initEngine();
  const { classifier } = await trainCharCnnClassifier(sampleTexts(train, 40, 2), { epochs: 1, cnn: CNN, id: 'cnn-rt', normalize: true });
  const dir = mkdtempSync(join(tmpdir(), 'rampart-cnn-'));
  try {
    await saveCharCnnClassifier(classifier, join(dir, 'm'));
    const loaded = await loadCharCnnClassifier(join(dir, 'm'));
    try {
      assert.equal(loaded.id, 'cnn-rt');
      assert.deepEqual(loaded.info, classifier.info);
      const texts = splits.test.texts.slice(0, 5);
      const [x, y] = [await classifier.predictProba(texts), await loaded.predictProba(texts)];
      x.forEach((p, i) => assert.ok(Math.abs(p[1]! - y[i]![1]!) < 1e-6));
    } finally {
      loaded.dispose();
    }
    await assert.rejects(loadTextClassifier(join(dir, 'm')), (e: unknown) => e instanceof RampartError && e.code === 'E_MODEL_FORMAT');
    // The saved filter as serve and the plan's attack stage load it: behind the default normaliser, at its threshold.
    await saveDecisionThreshold(join(dir, 'm'), { positiveClass: 'spam', threshold: 0.3 });
    const saved = await loadSavedTextFilter(join(dir, 'm'));
    try {
      assert.equal(saved.model.info.architecture, 'char-cnn');
      assert.equal(saved.normalization?.source, 'default');
      const texts = ['Cl1ck h\u0435re for fr33 m0ney', splits.test.texts[0] as string];
      const expected = await withDecisionThreshold(normalizedClassifier(classifier), { positiveClass: 1, threshold: 0.3 }).predictProba(
        texts,
      );
      const got = await saved.filter.predictProba(texts);
      got.forEach((p, i) => assert.ok(Math.abs(p[1]! - expected[i]![1]!) < 1e-6));
    } finally {
      saved.model.dispose();
    }
  } finally {
    classifier.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a model of another output width is refused', async () => {
  await initEngine();
  const model = buildCharCnnModel({ maxChars: 64, embedding: 4, filters: 4, kernel: 3, hidden: 0 }, 3, 1);
  const info = {
    architecture: 'char-cnn' as const,
    cnn: { maxChars: 64, embedding: 4, filters: 4, kernel: 3, hidden: 0 },
    trainedOnNormalizedText: false,
  };
  assert.throws(
    () => new CharCnnTextClassifier(model, { id: 'x', classes: ['ham', 'spam'], info }),
    (e: unknown) => e instanceof RampartError && e.code === 'E_TEXT_MODEL_SHAPE',
  );
  model.dispose();
});

test('the mean ensemble averages its members; members must share classes', async () => {
  const constant = (id: string, spam: number, classes = ['ham', 'spam']): TextClassifier => ({
    id,
    classes,
    predictProba: async (texts) => texts.map(() => Float32Array.of(1 - spam, spam)),
  });
  const both = meanTextEnsemble([constant('a', 0.2), constant('b', 0.6)]);
  assert.equal(both.id, 'a+b');
  const [p] = await both.predictProba(['x']);
  assert.ok(Math.abs(p![1]! - 0.4) < 1e-6 && Math.abs(p![0]! - 0.6) < 1e-6);
  assert.throws(() => meanTextEnsemble([constant('a', 0.2)]), /at least two members/);
  assert.throws(() => meanTextEnsemble([constant('a', 0.2), constant('b', 0.2, ['spam', 'ham'])]), /share classes/);
});

test('the adversarial rounds harden a char-CNN through the same recipe (trainer option)', async () => {
  await initEngine();
  const threat = textThreatModel({ maxWordFraction: 0.2, maxWords: 3, maxCharEditsPerWord: 1, families: ['homoglyph', 'leet'] });
  const small = sampleTexts(train, 60, 4);
  const before = tf.memory().numTensors;
  const result = await trainTextAdversarially<CharCnnTextClassifier, TrainCharCnnOptions>(small, {
    threat,
    rounds: 1,
    perRound: 4,
    attackClasses: [1],
    attack: createTextAttack('greedy', { maxQueries: 40 }),
    epochs: 1,
    seed: 2,
    normalize: true,
    cnn: CNN,
    trainer: trainCharCnnClassifier,
    deploy: (m) => normalizedClassifier(m),
  });
  try {
    assert.ok(result.classifier instanceof CharCnnTextClassifier);
    assert.equal(result.rounds.length, 1);
    assert.equal(result.rounds[0]?.attacked, 4);
    assert.equal(result.added.texts.length, result.rounds[0]?.added);
  } finally {
    result.classifier.dispose();
  }
  assert.equal(tf.memory().numTensors, before, 'every round model freed');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../engine/backend.js';
import { RampartError } from '../../core/errors.js';
import { spamAssassinSplits } from '../../data/text/spam-assassin.js';
import { sampleTexts } from '../../data/text/text-dataset.js';
import { HashedNgramFeaturizer } from './featurizer.js';
import { trainTextClassifier } from '../../training/text/train.js';
import { evaluateTextClassifier } from './metrics.js';
import { DECISION_THRESHOLD_FILE, loadTextClassifier, readDecisionThreshold, saveDecisionThreshold, saveTextClassifier } from './store.js';
import type { HashedTextClassifier } from './hashed-classifier.js';

const splits = spamAssassinSplits({ seed: 5, maxChars: 1500 });
const train = sampleTexts(splits.train, 400, 1);
const test_ = sampleTexts(splits.test, 150, 1);
const FEATURES = { buckets: 4096 };

let trained: HashedTextClassifier | undefined;
async function model(): Promise<HashedTextClassifier> {
  await initEngine();
  trained ??= (await trainTextClassifier(train, { epochs: 4, learningRate: 0.01, featurizer: FEATURES, seed: 2, id: 'test-spam' }))
    .classifier;
  return trained;
}

test('featurizer: deterministic, L2-normalised, word features inside the text features', () => {
  const f = new HashedNgramFeaturizer({ buckets: 1024 });
  const a = f.sparse('Win a FREE prize now, free!');
  const b = new HashedNgramFeaturizer({ buckets: 1024 }).sparse('win a free prize now free !');
  assert.deepEqual([...a.indices], [...b.indices], 'case and punctuation spacing do not matter');
  const norm = Math.sqrt(a.values.reduce((s, v) => s + v * v, 0));
  assert.ok(Math.abs(norm - 1) < 1e-5);
  const set = new Set(a.indices);
  for (const i of f.indicesOfWord('prize')) assert.ok(set.has(i));
  assert.ok(f.indicesOfWord('prize').length > 5, 'unigram plus character n-grams');
  // One edited character keeps most of a word's character n-grams.
  const shared = f.indicesOfWord('viagra').filter((i) => f.indicesOfWord('v1agra').includes(i)).length;
  assert.ok(shared >= 4, `shared n-grams ${shared}`);
  assert.equal(f.sparse('').indices.length, 0);
  assert.throws(
    () => new HashedNgramFeaturizer({ buckets: 1000 }),
    (e: unknown) => e instanceof RampartError && e.code === 'E_FEATURIZER_CONFIG',
  );
});

test('featurizer: marker words add codes of their count and share of the text', () => {
  const plain = new HashedNgramFeaturizer();
  const marked = new HashedNgramFeaturizer({ markerPrefix: 'zzobf' });
  const words = 'cheap loans for you today only here now';
  assert.deepEqual([...marked.sparse(words).indices], [...plain.sparse(words).indices], 'no markers, no codes');
  // The buckets the marked featurizer adds: the codes.
  const codes = (text: string): number[] => {
    const base = new Set(plain.sparse(text).indices);
    return [...marked.sparse(text).indices].filter((i) => !base.has(i));
  };
  const one = codes(`${words} zzobfunknown`);
  const four = codes(`${words} ${'zzobfunknown '.repeat(4)}`);
  assert.ok(one.length >= 2, `one marker among 8 words: count >= 1 and share >= 10% (${one.length} codes)`);
  assert.ok(
    four.length > one.length && one.every((i) => four.includes(i)),
    `four markers have one marker's codes and more (${four.length} vs ${one.length})`,
  );
  // The codes depend on the markers' number, not on which stage left them.
  assert.deepEqual(codes(`${words} zzobfleet zzobfsplit`), codes(`${words} zzobfunknown zzobfunknown`));
  assert.throws(
    () => new HashedNgramFeaturizer({ markerPrefix: 'ZZ obf' }),
    (e: unknown) => e instanceof RampartError && e.code === 'E_FEATURIZER_CONFIG',
  );
});

test('featurizer: with markerWeight the codes weigh the same in a long message as in a short one', () => {
  const shared = new HashedNgramFeaturizer({ markerPrefix: 'zzobf' });
  const fixed = new HashedNgramFeaturizer({ markerPrefix: 'zzobf', markerWeight: 0.3 });
  const plain = new HashedNgramFeaturizer();
  const short = 'cheap loans today zzobfunknown';
  const long = `${'our engineering seminar covers sales for technical people '.repeat(30)} zzobfunknown`;
  const codeValues = (f: HashedNgramFeaturizer, text: string): number[] => {
    const base = new Set(plain.sparse(text).indices);
    const v = f.sparse(text);
    return [...v.indices].flatMap((i, k) => (base.has(i) ? [] : [v.values[k] as number]));
  };
  // Normalised with the n-grams, a code in a 270-word message is a fraction of one in a 4-word message.
  const [sharedShort, sharedLong] = [codeValues(shared, short)[0] as number, codeValues(shared, long)[0] as number];
  assert.ok(sharedLong < sharedShort / 5, `shared normalisation: ${sharedLong} vs ${sharedShort}`);
  // Fixed: every code is 0.3 at any length, and the n-grams keep a unit norm of their own.
  for (const text of [short, long]) {
    const values = codeValues(fixed, text);
    // The short text: count >= 1 and share >= 1%...25%; the long one (1 in 270 words): count >= 1 only.
    assert.ok(values.length >= (text === short ? 2 : 1), `${values.length} codes`);
    for (const v of values) assert.ok(Math.abs(v - 0.3) < 1e-6, `code value ${v}`);
    const v = fixed.sparse(text);
    const base = new Set(plain.sparse(text).indices);
    const codes = new Set(v.indices.filter((i) => !base.has(i)));
    const ngramNorm = Math.hypot(...[...v.values].filter((_, k) => !codes.has(v.indices[k] as number)));
    assert.ok(Math.abs(ngramNorm - 1) < 1e-4, `n-gram norm ${ngramNorm}`);
    assert.ok(
      [...v.indices].every((i, k) => k === 0 || i > (v.indices[k - 1] as number)),
      'indices sorted and distinct',
    );
  }
  assert.deepEqual(fixed.sparse('no markers here'), plain.sparse('no markers here'));
  for (const markerWeight of [-0.1, 2, Number.NaN]) {
    assert.throws(
      () => new HashedNgramFeaturizer({ markerPrefix: 'zzobf', markerWeight }),
      (e: unknown) => e instanceof RampartError && e.code === 'E_FEATURIZER_CONFIG' && /markerWeight/.test(e.message),
    );
  }
});

test('trained on 400 SpamAssassin messages: accurate, and the sparse path equals the TF.js graph', async () => {
  const clf = await model();
  const metrics = await evaluateTextClassifier(clf, test_);
  assert.ok(metrics.accuracy >= 0.88, `accuracy ${metrics.accuracy}`);
  assert.ok(metrics.f1 >= 0.75, `f1 ${metrics.f1}`);

  const texts = test_.texts.slice(0, 8);
  const sparse = await clf.predictProba(texts);
  const before = tf.memory().numTensors;
  const dense = tf.tidy(() => {
    const x = clf.whiteBox.features(texts);
    return tf.softmax(clf.whiteBox.logitsFromFeatures(x)).arraySync() as number[][];
  });
  assert.equal(tf.memory().numTensors, before, 'white-box calls inside tidy leave no tensors');
  sparse.forEach((row, i) =>
    row.forEach((p, c) => assert.ok(Math.abs(p - (dense[i]?.[c] as number)) < 1e-4, `row ${i} class ${c}: ${p} vs ${dense[i]?.[c]}`)),
  );
  sparse.forEach((row) => assert.ok(Math.abs(row.reduce((s, p) => s + p, 0) - 1) < 1e-5));
});

test('save and load give the same classifier', async () => {
  const clf = await model();
  const dir = mkdtempSync(join(tmpdir(), 'rampart-text-model-'));
  try {
    await saveTextClassifier(clf, join(dir, 'model'));
    const loaded = await loadTextClassifier(join(dir, 'model'));
    assert.equal(loaded.id, 'test-spam');
    assert.deepEqual(loaded.classes, ['ham', 'spam']);
    assert.deepEqual(loaded.info, clf.info);
    assert.deepEqual(await loaded.predictProba(test_.texts.slice(0, 5)), await clf.predictProba(test_.texts.slice(0, 5)));
    loaded.dispose();
    // Models saved before marker features existed load without them.
    const file = join(dir, 'model', 'model.json');
    const json = JSON.parse(readFileSync(file, 'utf8')) as { userDefinedMetadata: { info: { featurizer: Record<string, unknown> } } };
    delete json.userDefinedMetadata.info.featurizer.markerPrefix;
    delete json.userDefinedMetadata.info.featurizer.markerWeight;
    writeFileSync(file, JSON.stringify(json));
    const older = await loadTextClassifier(join(dir, 'model'));
    assert.equal(older.featurizer.config.markerPrefix, '');
    assert.equal(older.featurizer.config.markerWeight, 0);
    older.dispose();
    await assert.rejects(
      () => loadTextClassifier(join(dir, 'missing')),
      (e: unknown) => e instanceof RampartError && e.code === 'E_MODEL_MISSING',
    );
    // The decision threshold beside the model: none means 0.5; a damaged file is a typed error naming the fix.
    assert.equal(readDecisionThreshold(join(dir, 'model')), undefined);
    await saveDecisionThreshold(join(dir, 'model'), { positiveClass: 'spam', threshold: 0.35 });
    assert.deepEqual(readDecisionThreshold(join(dir, 'model')), { positiveClass: 'spam', threshold: 0.35 });
    writeFileSync(
      join(dir, 'model', DECISION_THRESHOLD_FILE),
      JSON.stringify({ format: 'rampart-text-threshold/1', positiveClass: 'spam', threshold: 1.5 }),
    );
    assert.throws(
      () => readDecisionThreshold(join(dir, 'model')),
      (e: unknown) =>
        e instanceof RampartError &&
        e.code === 'E_THRESHOLD_FILE' &&
        e.message.includes(DECISION_THRESHOLD_FILE) &&
        /delete the file/.test(e.message),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('labelGradientAt equals the TF.js gradient of log p(label) at the features', async () => {
  const clf = await model();
  const text = test_.texts[0] as string;
  const vector = clf.featurizer.sparse(text);
  for (const label of [0, 1]) {
    const gradient = clf.labelGradientAt(vector, label);
    const reference = tf.tidy(() => {
      const x = clf.whiteBox.features([text]);
      const onehot = tf.oneHot([label], 2);
      const f = (input: tf.Tensor): tf.Scalar =>
        tf.sum(tf.mul(onehot, tf.logSoftmax(clf.whiteBox.logitsFromFeatures(input as tf.Tensor2D))));
      return tf.grad(f)(x).dataSync() as Float32Array;
    });
    const indices = [...vector.indices.slice(0, 20), 0, 7, 4095];
    for (const i of indices)
      assert.ok(Math.abs(gradient(i) - (reference[i] as number)) < 1e-4, `label ${label} feature ${i}: ${gradient(i)} vs ${reference[i]}`);
    assert.ok(
      indices.some((i) => Math.abs(gradient(i)) > 1e-3),
      'a gradient that is all zero proves nothing',
    );
  }
});

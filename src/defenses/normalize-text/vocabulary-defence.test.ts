import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RampartError } from '../../core/errors.js';
import { normalizeText, OBFUSCATION_MARKER_PREFIX } from './normalize.js';
import {
  loadVocabulary,
  saveVocabulary,
  savedTextNormalization,
  trainingVocabulary,
  VOCABULARY_FILE,
  vocabularyDefence,
} from './vocabulary-defence.js';

const CORPUS = Array.from({ length: 3 }, () => 'Order the Zyloprax refill today and claim your refund at the pharmacy counter');

test('the vocabulary defence knows the corpus words, repairs an unambiguous edit and drops a disguise with a marker', () => {
  const vocabulary = trainingVocabulary(CORPUS);
  assert.equal(vocabulary.get('zyloprax'), 3, 'a word seen three times joins the vocabulary');
  const normalize = vocabularyDefence(vocabulary, { synonyms: false });
  // A corpus-only word (not in WordNet) is kept as it is.
  assert.match(normalizeText('Zyloprax refill', normalize), /^Zyloprax refill$/);
  // "Zyloprrax" is two edits from one vocabulary word only: repaired, and the repair marked.
  const repaired = normalizeText('Zyloprrax refill', normalize);
  assert.match(repaired, /^Zyloprax refill/);
  assert.ok(repaired.includes(`${OBFUSCATION_MARKER_PREFIX}spelling`), repaired);
  // A word out of every list is dropped and marked, whatever letters the attacker chose.
  const dropped = normalizeText('Zqxwvbt refill', normalize);
  assert.ok(!dropped.toLowerCase().includes('zqxwvbt'), dropped);
  assert.ok(dropped.includes(`${OBFUSCATION_MARKER_PREFIX}unknown`), dropped);
});

test('a saved vocabulary loads back as it was; a model without one has none; a damaged file is a typed error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rampart-vocabulary-'));
  try {
    assert.equal(loadVocabulary(dir), undefined);
    const vocabulary = trainingVocabulary(CORPUS);
    await saveVocabulary(dir, { vocabulary, synonyms: false });
    const loaded = loadVocabulary(dir);
    assert.deepEqual([...(loaded?.vocabulary ?? [])].sort(), [...vocabulary].sort());
    assert.equal(loaded?.synonyms, false);

    writeFileSync(
      join(dir, VOCABULARY_FILE),
      '{"format":"rampart-text-vocabulary/1","minCount":3,"synonyms":true,"words":[["refill",-2]]}',
    );
    assert.throws(
      () => loadVocabulary(dir),
      (e: unknown) =>
        e instanceof RampartError &&
        e.code === 'E_VOCABULARY_CORRUPT' &&
        e.message.includes(VOCABULARY_FILE) &&
        /Retrain the model/.test(e.message),
    );
    writeFileSync(join(dir, VOCABULARY_FILE), '{"format":');
    assert.throws(
      () => loadVocabulary(dir),
      (e: unknown) => e instanceof RampartError && e.code === 'E_VOCABULARY_CORRUPT',
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a saved model is deployed behind the normalisation it was trained behind, or refused when its vocabulary is gone', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rampart-vocabulary-'));
  try {
    const raw = { trainedOnNormalizedText: false, featurizer: { markerPrefix: '' } };
    const normalised = { trainedOnNormalizedText: true, featurizer: { markerPrefix: '' } };
    const defended = { trainedOnNormalizedText: true, featurizer: { markerPrefix: OBFUSCATION_MARKER_PREFIX } };
    assert.equal(savedTextNormalization(dir, raw), undefined, 'a model trained on raw text reads raw text');
    assert.deepEqual(
      savedTextNormalization(dir, normalised),
      { source: 'default', options: {} },
      'normalised text without a vocabulary: the default normaliser',
    );
    assert.throws(
      () => savedTextNormalization(dir, defended),
      (e: unknown) => e instanceof RampartError && e.code === 'E_VOCABULARY_MISSING' && e.message.includes(VOCABULARY_FILE),
    );
    await saveVocabulary(dir, { vocabulary: trainingVocabulary(CORPUS), synonyms: false });
    const saved = savedTextNormalization(dir, defended);
    assert.equal(saved?.source, 'vocabulary');
    const options = saved?.options;
    assert.equal(options?.unknownWords, 'drop');
    assert.match(normalizeText('Zyloprrax refill', options), /^Zyloprax refill/, 'the saved vocabulary repairs as in training');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

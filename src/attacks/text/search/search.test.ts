import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import { engine } from '../../../../test/fixtures.js';
import { GradientError, InputError, UsageError } from '../../../core/errors.js';
import { createRng } from '../../../core/rng.js';
import type { TextClassifier, TextWhiteBox } from '../../../models/text/text-classifier.js';
import { TEXT_FAMILIES, textThreatModel } from '../../../threats/text-threat.js';
import { createTextAttack, textAttackIds } from '../registry.js';
import { joinTokens, tokenize, wordTokenIndices } from '../tokens.js';
import { measureTextAttack } from '../metrics.js';
import type { TextFamily } from '../../../threats/text-threat.js';
import type { TextAttackResult } from '../types.js';

const { rectifyConfusion } = createRequire(import.meta.url)('unicode-confusables') as { rectifyConfusion: (s: string) => string };

/**
 * A hand-built linear bag-of-words spam filter: logit(spam) = -2 + 3·free + 3·winner +
 * 1·prize, over lower-cased [a-z]+ runs. A real TF.js model with a white-box path, small
 * enough that the right evasion is known in advance.
 */
const VOCAB = ['free', 'winner', 'prize'];
const WEIGHTS = [3, 3, 1];
const BIAS = -2;

function keywordModel(options: { whiteBox?: boolean } = {}): TextClassifier & { calls: number; texts: number } {
  const w = tf.keep(tf.tensor2d(WEIGHTS.map((v) => [0, v])));
  const b = tf.keep(tf.tensor1d([0, BIAS]));
  const counts = (text: string): number[] => {
    const row = VOCAB.map(() => 0);
    for (const word of text.toLowerCase().split(/[^a-z]+/)) {
      const j = VOCAB.indexOf(word);
      if (j >= 0) row[j] = (row[j] as number) + 1;
    }
    return row;
  };
  const whiteBox: TextWhiteBox = {
    features: (texts) => tf.tensor2d(texts.map(counts), [texts.length, VOCAB.length]),
    logitsFromFeatures: (features) => tf.add(tf.matMul(features, w), b) as tf.Tensor2D,
    featureIndicesOf: (word) => {
      const j = VOCAB.indexOf(word.toLowerCase());
      return j >= 0 ? [j] : [];
    },
  };
  const model = {
    id: 'keyword-spam',
    classes: ['ham', 'spam'] as const,
    calls: 0,
    texts: 0,
    async predictProba(texts: readonly string[]): Promise<Float32Array[]> {
      model.calls++;
      model.texts += texts.length;
      const probs = tf.tidy(() => tf.softmax(whiteBox.logitsFromFeatures(whiteBox.features(texts))));
      const flat = (await probs.data()) as Float32Array;
      probs.dispose();
      return texts.map((_, i) => flat.slice(2 * i, 2 * i + 2));
    },
    ...(options.whiteBox === false ? {} : { whiteBox }),
  };
  return model;
}

const SPAM = 'Claim your free prize now';
const HAM_LABEL = 0;
const SPAM_LABEL = 1;

function threat(families: TextFamily[], maxWordFraction = 0.2, protectedTokens?: string[], maxWords?: number) {
  return textThreatModel({
    maxWordFraction,
    maxCharEditsPerWord: 1,
    families,
    ...(protectedTokens ? { protectedTokens } : {}),
    ...(maxWords === undefined ? {} : { maxWords }),
  });
}

function wordsOf(text: string): string[] {
  const tokens = tokenize(text);
  return wordTokenIndices(tokens).map((i) => tokens[i]?.text as string);
}

/** Checks a result against the model and the threat, from the outside. */
async function assertHonest(
  model: TextClassifier,
  texts: string[],
  labels: Int32Array,
  result: TextAttackResult,
  t: ReturnType<typeof threat>,
): Promise<void> {
  const probs = await model.predictProba(result.adversarial);
  texts.forEach((text, i) => {
    const row = probs[i] as Float32Array;
    const wrong = (row[1] as number) > (row[0] as number) ? 1 : 0;
    assert.equal(result.success[i], wrong !== labels[i] ? 1 : 0, `success flag honest for #${i}`);
    const words = wordsOf(text);
    const changes = result.changes[i] ?? [];
    // Counted from the budget's own numbers, not through maxChangedWords, so a wrong cap there fails here.
    const allowed = Math.min(Math.floor(t.budget.maxWordFraction * words.length + 1e-9), t.budget.maxWords ?? Infinity);
    assert.ok(changes.length <= allowed, `#${i}: ${changes.length} changes over budget (${allowed})`);
    assert.equal(result.changedWordFraction[i], Math.fround(words.length ? changes.length / words.length : 0));
    const tokens = tokenize(text).map((tok) => ({ ...tok }));
    const wordTokens = wordTokenIndices(tokens);
    for (const c of changes) {
      assert.equal(words[c.index], c.from);
      assert.ok(!(t.budget.protectedTokens ?? []).includes(c.from.toLowerCase()), `protected '${c.from}' changed`);
      (tokens[wordTokens[c.index] as number] as { text: string }).text = c.to;
    }
    assert.equal(joinTokens(tokens), result.adversarial[i], 'adversarial = original + listed changes');
  });
}

before(async () => {
  await engine();
});

test('greedy finds the homoglyph evasion and counts every query', async () => {
  const model = keywordModel();
  const t = threat(['homoglyph']);
  const labels = Int32Array.from([SPAM_LABEL]);
  const result = await createTextAttack('greedy', { candidatesPerTransformation: 3 }).run(model, [SPAM], labels, t, { seed: 1 });
  assert.equal(result.success[0], 1);
  assert.equal(result.originalCorrect[0], 1);
  assert.deepEqual(
    result.changes[0]?.map((c) => [c.index, c.from, c.transformation]),
    [[2, 'free', 'homoglyph']],
  );
  assert.equal(
    rectifyConfusion(result.adversarial[0] as string),
    rectifyConfusion(SPAM),
    'same UTS #39 skeleton: reads the same to a person',
  );
  // 1 clean + 5 leave-one-out + 3 candidates for "free", which already flips the label.
  assert.equal(result.queries[0], 9);
  assert.equal(model.texts, 9);
  await assertHonest(model, [SPAM], labels, result, t);
});

test('greedy splits the word when only the split family is allowed ("fr ee")', async () => {
  const model = keywordModel();
  const t = threat(['split']);
  const result = await createTextAttack('greedy').run(model, [SPAM], Int32Array.from([SPAM_LABEL]), t, { seed: 2 });
  assert.equal(result.success[0], 1);
  const change = result.changes[0]?.[0];
  assert.equal(change?.from, 'free');
  assert.equal(change?.to.replace(/[^a-z]/g, ''), 'free');
  assert.equal(model.texts, result.queries[0]);
});

test('the word budget and protected tokens bind', async () => {
  const text = 'Dear winner you won a free trip and more great things today';
  assert.equal(wordsOf(text).length, 12);
  const labels = Int32Array.from([SPAM_LABEL]);
  // Both keywords must go: one word (floor(0.1·12)) is not enough, two are.
  const one = threat(['homoglyph', 'leet'], 0.1);
  const tight = await createTextAttack('greedy').run(keywordModel(), [text], labels, one, { seed: 3 });
  assert.equal(tight.success[0], 0);
  assert.equal(tight.changes[0]?.length, 1);
  const two = threat(['homoglyph', 'leet'], 0.2);
  const loose = await createTextAttack('greedy').run(keywordModel(), [text], labels, two, { seed: 3 });
  assert.equal(loose.success[0], 1);
  assert.deepEqual(
    loose.changes[0]?.map((c) => c.from),
    ['winner', 'free'],
  );
  const guarded = threat(['homoglyph', 'leet'], 0.2, ['free']);
  const kept = await createTextAttack('beam', { beamWidth: 3 }).run(keywordModel(), [text], labels, guarded, { seed: 3 });
  assert.equal(kept.success[0], 0);
  assert.ok(kept.adversarial[0]?.includes(' free '), 'protected word untouched');
  await assertHonest(keywordModel(), [text], labels, kept, guarded);
  // The per-message cap binds under a generous fraction: two keywords, one word allowed.
  const capped = threat(['homoglyph', 'leet'], 0.5, undefined, 1);
  for (const id of textAttackIds()) {
    const result = await createTextAttack(id).run(keywordModel(), [text], labels, capped, { seed: 3 });
    assert.equal(result.success[0], 0, `${id}: one word cannot remove both keywords`);
    assert.ok((result.changes[0]?.length ?? 0) <= 1, `${id}: at most maxWords changes`);
  }
});

test('every search stays honest and in budget over mixed texts, families and seeds', async () => {
  const texts = [
    'Claim your free prize now',
    'Winner! A free prize is waiting, call now to claim your prize',
    'Lunch at noon tomorrow?',
    'free free winner',
    'The winner of the free raffle gets a prize and a trip',
  ];
  const labels = Int32Array.from([1, 1, 0, 1, 1]);
  const rng = createRng(5);
  for (const id of textAttackIds()) {
    for (let k = 0; k < 3; k++) {
      const families = TEXT_FAMILIES.filter(() => rng.next() < 0.4);
      if (families.length === 0) families.push('char-edit');
      // k = 1 and 2 add a per-message cap below the fraction's budget on the long texts.
      const t = threat(families, [0.1, 0.3, 0.5][k] as number, k === 2 ? ['prize'] : undefined, [undefined, 2, 1][k]);
      const model = keywordModel();
      const result = await createTextAttack(id, { candidatesPerTransformation: 2 }).run(model, texts, labels, t, { seed: k });
      const counted = model.texts;
      const passes =
        id === 'gradient' ? result.originalCorrect.reduce((a, v, i) => a + (v && (result.queries[i] as number) > 1 ? 1 : 0), 0) : 0;
      assert.equal(
        result.queries.reduce((a, b) => a + b, 0),
        counted + passes,
        `${id}: queries counted exactly`,
      );
      await assertHonest(model, texts, labels, result, t);
      assert.deepEqual([result.originalCorrect[2], result.success[2]], [1, 0], 'removing keywords cannot make ham spam');
    }
  }
});

test('beam width 1 is greedy; a wider beam also succeeds and counts its queries', async () => {
  const text = 'Dear winner you won a free trip and more great things today';
  const labels = Int32Array.from([SPAM_LABEL]);
  const t = threat(['char-edit', 'homoglyph'], 0.2);
  const greedy = await createTextAttack('greedy').run(keywordModel(), [text], labels, t, { seed: 9 });
  const beam1 = await createTextAttack('beam', { beamWidth: 1 }).run(keywordModel(), [text], labels, t, { seed: 9 });
  assert.deepEqual(beam1, greedy);
  const model = keywordModel();
  const beam3 = await createTextAttack('beam', { beamWidth: 3 }).run(model, [text], labels, t, { seed: 9 });
  assert.equal(beam3.success[0], 1);
  assert.equal(beam3.queries[0], model.texts);
  assert.ok((beam3.queries[0] as number) > (greedy.queries[0] as number), 'a wider beam pays more queries');
});

test('gradient ranking needs one white-box pass instead of leave-one-out queries', async () => {
  const model = keywordModel();
  const t = threat(['homoglyph']);
  const before = tf.memory().numTensors;
  const result = await createTextAttack('gradient', { candidatesPerTransformation: 3 }).run(
    model,
    [SPAM],
    Int32Array.from([SPAM_LABEL]),
    t,
    { seed: 1 },
  );
  assert.equal(result.success[0], 1);
  assert.equal(result.changes[0]?.[0]?.from, 'free', 'free has the largest gradient × count');
  // 1 clean + 1 gradient pass + 3 candidates; model.texts only sees predictProba.
  assert.equal(result.queries[0], 5);
  assert.equal(model.texts, 4);
  for (let i = 0; i < 3; i++) await createTextAttack('gradient').run(model, [SPAM], Int32Array.from([SPAM_LABEL]), t, { seed: i });
  assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
  await assert.rejects(
    createTextAttack('gradient').run(keywordModel({ whiteBox: false }), [SPAM], Int32Array.from([SPAM_LABEL]), t),
    (e: unknown) => e instanceof GradientError && e.code === 'E_TEXT_NO_WHITEBOX' && /'greedy' or 'beam'/.test(e.message),
  );
});

test('query cap, clean mistakes, determinism, metrics and errors', async () => {
  const t = threat(['char-edit', 'homoglyph']);
  const capped = await createTextAttack('greedy', { maxQueries: 4 }).run(keywordModel(), [SPAM], Int32Array.from([SPAM_LABEL]), t);
  assert.ok((capped.queries[0] as number) <= 4);
  const wrong = await createTextAttack('beam').run(keywordModel(), [SPAM], Int32Array.from([HAM_LABEL]), t);
  assert.deepEqual([wrong.success[0], wrong.originalCorrect[0], wrong.queries[0], wrong.adversarial[0]], [1, 0, 1, SPAM]);
  const runA = await createTextAttack('greedy').run(keywordModel(), [SPAM, SPAM], Int32Array.from([1, 1]), t, { seed: 4 });
  const runB = await createTextAttack('greedy').run(keywordModel(), [SPAM, SPAM], Int32Array.from([1, 1]), t, { seed: 4 });
  assert.deepEqual(runA, runB);

  const progress: number[] = [];
  const { metrics } = await measureTextAttack(
    createTextAttack('greedy'),
    keywordModel(),
    [SPAM, 'Lunch at noon', SPAM],
    Int32Array.from([1, 0, 0]),
    t,
    {
      onProgress: (p) => progress.push(p.done),
    },
  );
  assert.deepEqual(progress, [1, 2, 3]);
  assert.equal(metrics.cleanAccuracy, 2 / 3);
  // The ham text cannot be pushed to spam by removing keywords: one success in two attacked.
  assert.equal(metrics.attackSuccessRate, 0.5);
  assert.equal(metrics.accuracyUnderAttack, 1 / 3);
  assert.ok(Math.abs(metrics.perturbedWordPercent - 20) < 1e-4);
  assert.ok(metrics.timeMs > 0 && metrics.meanQueries > 1);

  assert.throws(
    () => createTextAttack('tabu'),
    (e: unknown) => e instanceof UsageError && e.code === 'E_UNKNOWN_TEXT_ATTACK' && /'greedy', 'beam' or 'gradient'/.test(e.message),
  );
  assert.throws(
    () => createTextAttack('beam', { beamWidth: 0 }),
    (e: unknown) => e instanceof UsageError && e.code === 'E_TEXT_ATTACK_OPTION' && /beamWidth/.test(e.message),
  );
  await assert.rejects(
    createTextAttack('greedy').run(keywordModel(), [SPAM], Int32Array.from([1, 0]), t),
    (e: unknown) => e instanceof InputError && e.code === 'E_LABELS_LENGTH',
  );
  await assert.rejects(
    createTextAttack('greedy').run(keywordModel(), [SPAM], Int32Array.from([2]), t),
    (e: unknown) => e instanceof InputError && e.code === 'E_LABEL_RANGE',
  );
});

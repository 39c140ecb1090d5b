import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TextClassifier } from '../../../models/text/text-classifier.js';
import { textThreatModel } from '../../../threats/text-threat.js';
import { createTextAttack } from '../registry.js';
import { tokenize, wordTokenIndices } from '../tokens.js';
import { createRng } from '../../../core/rng.js';
import { ALL_TRANSFORMATIONS } from '../transformations/index.js';
import { ExampleSearch } from './example.js';

/**
 * A plain-JS filter that lower-cases its input (so case flips change nothing) and scores
 * every word: listed spam words weigh 2, any other word a small hash-derived amount in
 * [-0.5, 0.5], so each edit of a word moves the score a little and some edits more than
 * others (as with hashed n-grams). Records every text it is sent.
 */
function lowerCasingModel(): TextClassifier & { seen: string[] } {
  const spamWords = new Set(['free', 'winner', 'prize', 'cash', 'offer', 'bonus', 'money', 'claim']);
  const weight = (word: string): number => {
    if (spamWords.has(word)) return 2;
    let h = 2166136261;
    for (const ch of word) h = Math.imul(h ^ (ch.codePointAt(0) as number), 16777619);
    return (h >>> 0) / 2 ** 32 - 0.5;
  };
  const model = {
    id: 'lower-casing',
    classes: ['ham', 'spam'] as const,
    seen: [] as string[],
    async predictProba(texts: readonly string[]): Promise<Float32Array[]> {
      model.seen.push(...texts);
      return texts.map((text) => {
        const words = text.toLowerCase().match(/\p{L}+/gu) ?? [];
        const logit = words.reduce((s, w) => s + weight(w), -4);
        const p = 1 / (1 + Math.exp(-logit));
        return Float32Array.from([1 - p, p]);
      });
    },
  };
  return model;
}

const SPAM = 'Claim your free cash prize and bonus money now, winner: this offer ends today for every winner';

test('a family that never moves the model is dropped after a few words', async () => {
  const model = lowerCasingModel();
  const threat = textThreatModel({ maxWordFraction: 0.5, maxCharEditsPerWord: 1, families: ['case', 'char-edit'] });
  const result = await createTextAttack('greedy', { refinePasses: 0 }).run(model, [SPAM], Int32Array.from([1]), threat, { seed: 3 });
  const caseOnly = model.seen.filter((t) => t !== SPAM && t.toLowerCase() === SPAM.toLowerCase());
  assert.ok(caseOnly.length > 0, 'case flips are tried at first');
  // Three words' worth of case candidates at most (4 each), however many words are walked.
  assert.ok(caseOnly.length <= 3 * 4, `case flips asked after they proved inert: ${caseOnly.length}`);
  assert.ok(result.changes[0]!.length > 3, 'the walk goes on past the probe words');
  assert.ok(result.changes[0]!.every((c) => c.transformation !== 'case-flip'));
});

test('refinement spends leftover queries on better edits of the same words, within budget', async () => {
  const threat = textThreatModel({ maxWordFraction: 0.2, maxCharEditsPerWord: 2, families: ['char-edit'] });
  const labels = Int32Array.from([1]);
  const plainModel = lowerCasingModel();
  const plain = await createTextAttack('greedy', { refinePasses: 0, maxQueries: 600 }).run(plainModel, [SPAM], labels, threat, { seed: 1 });
  const refinedModel = lowerCasingModel();
  const refined = await createTextAttack('greedy', { refinePasses: 3, maxQueries: 600 }).run(refinedModel, [SPAM], labels, threat, {
    seed: 1,
  });
  const words = wordTokenIndices(tokenize(SPAM)).length;
  assert.ok(refined.changes[0]!.length <= Math.floor(0.2 * words));
  assert.ok(refined.queries[0]! > plain.queries[0]!, 'refinement queries more');
  assert.ok(refined.queries[0]! <= 600);
  const [p0] = await plainModel.predictProba([plain.adversarial[0]!]);
  const [p1] = await refinedModel.predictProba([refined.adversarial[0]!]);
  assert.ok(p1![1]! < p0![1]!, `refined spam probability ${p1![1]} should be below ${p0![1]}`);
  // The same words are changed: refinement swaps edits, it does not add words.
  assert.deepEqual(
    refined.changes[0]!.map((c) => c.index),
    plain.changes[0]!.map((c) => c.index),
  );
});

test('under a tight query cap a long text still spends its word budget (fewer candidates per word)', async () => {
  const long = `${SPAM} ${Array.from({ length: 12 }, () => 'lorem ipsum dolor sit amet consectetur adipiscing elit sed tempor').join(' ')}`;
  const threat = textThreatModel({ maxWordFraction: 0.2, maxCharEditsPerWord: 2, families: ['char-edit', 'typo'] });
  const model = lowerCasingModel();
  const [p] = await model.predictProba([long]);
  assert.ok(p![1]! > 0.5 && p![1]! < 0.999999, 'the fixture is spam, not saturated');
  const words = wordTokenIndices(tokenize(long)).length;
  const budget = Math.floor(0.2 * words);
  const result = await createTextAttack('greedy', { refinePasses: 0, maxQueries: words + 2 * budget + 1 }).run(
    model,
    [long],
    Int32Array.from([1]),
    threat,
    { seed: 2 },
  );
  assert.ok(result.queries[0]! <= words + 2 * budget + 1);
  // After the ranking (one query per word) 2·budget queries are left: at the full 4 candidates
  // × 5 transformations per word they would reach under 3 words; the evasion needs more.
  assert.equal(result.success[0], 1);
  assert.ok(result.changes[0]!.length > 3, `changed ${result.changes[0]!.length} words`);
});

/** A search over "Claim your generous reward today, dear customer" with the char-edit and homoglyph families, 4 candidates each. */
function charEditAndHomoglyphSearch(seed: number): ExampleSearch {
  const threat = textThreatModel({ maxWordFraction: 0.5, maxCharEditsPerWord: 2, families: ['char-edit', 'homoglyph'] });
  const transformations = ALL_TRANSFORMATIONS.filter((t) => threat.families.includes(t.family));
  const config = { candidatesPerTransformation: 4, beamWidth: 1, maxQueries: 0, batchSize: 128, refinePasses: 0 };
  return new ExampleSearch(
    lowerCasingModel(),
    'Claim your generous reward today, dear customer',
    1,
    threat,
    transformations,
    config,
    createRng(seed),
  );
}

/** How many of the drawn candidates come from transformation `id`. */
function count(drawn: { transformation: string }[], id: string): number {
  return drawn.filter((c) => c.transformation === id).length;
}

test('candidates flow to the family that keeps winning', () => {
  const example = charEditAndHomoglyphSearch(9);
  // One draw per word (each draw proposes new replacements only).
  // Before any edit was kept, every transformation gets the configured four.
  const before = example.candidates(0);
  assert.equal(count(before, 'homoglyph'), 4);
  assert.equal(count(before, 'char-swap'), 4);
  for (let k = 0; k < 6; k++) example.recordWin('homoglyph');
  // Then the same total (5 × 4) is shared by wins, add-one smoothed: homoglyph 20·7/11 ≈ 13, the others 20/11 ≈ 2.
  const after = example.candidates(2);
  assert.ok(count(after, 'homoglyph') >= 10, `homoglyph candidates: ${count(after, 'homoglyph')}`);
  const other = example.candidates(3);
  assert.ok(count(other, 'char-swap') <= 2 && count(other, 'char-swap') >= 1, 'a losing transformation keeps a candidate');
});

test('refinement neighbours are shared out by wins too', () => {
  const example = charEditAndHomoglyphSearch(4);
  // Neighbours of a one-edit replacement of "generous" (word 2): every transformation offers its four at first.
  assert.equal(count(example.neighbours(2, 'generus'), 'char-swap'), 4);
  for (let k = 0; k < 6; k++) example.recordWin('homoglyph');
  const after = example.neighbours(3, 'rewrd');
  assert.ok(count(after, 'homoglyph') >= 10, `homoglyph neighbours: ${count(after, 'homoglyph')}`);
  assert.ok(count(after, 'char-swap') <= 2, `a losing transformation offers at most two: ${count(after, 'char-swap')}`);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initEngine } from '../../engine/backend.js';
import { UsageError } from '../../core/errors.js';
import { spamAssassinSplits } from '../../data/text/spam-assassin.js';
import { sampleTexts, takeTexts } from '../../data/text/text-dataset.js';
import { textThreatModel } from '../../threats/text-threat.js';
import { createTextAttack } from '../../attacks/text/registry.js';
import { trainTextClassifier } from './train.js';
import { trainTextAdversarially } from './adversarial-rounds.js';
import type { TextClassifier } from '../../models/text/text-classifier.js';

const splits = spamAssassinSplits({ seed: 5, maxChars: 800 });
const train = sampleTexts(splits.train, 400, 1);
const spam = train.classes.indexOf('spam');
const heldOutSpam = takeTexts(splits.test, splits.test.labels.flatMap((l, i) => (l === spam ? [i] : [])).slice(0, 30), 'held-out-spam');
const threat = textThreatModel({ maxWordFraction: 0.2, maxCharEditsPerWord: 2, families: ['char-edit', 'typo'] });
const attack = createTextAttack('greedy', { maxQueries: 300 });
const options = { epochs: 4, learningRate: 0.01, featurizer: { buckets: 4096 }, seed: 2 };

async function evadedShare(model: TextClassifier): Promise<number> {
  const result = await attack.run(model, [...heldOutSpam.texts], Int32Array.from(heldOutSpam.labels), threat, { seed: 9 });
  let correct = 0;
  let evaded = 0;
  result.originalCorrect.forEach((ok, i) => {
    if (!ok) return;
    correct++;
    if (result.success[i]) evaded++;
  });
  return evaded / Math.max(1, correct);
}

test("adversarial rounds add the attack's outputs as spam and leave a filter that held-out attacks evade less", async () => {
  await initEngine();
  const plain = (await trainTextClassifier(train, options)).classifier;
  const rounds: number[] = [];
  const hardened = await trainTextAdversarially(train, {
    ...options,
    threat,
    rounds: 2,
    perRound: 40,
    attackClasses: [spam],
    attack,
    onRound: (r) => rounds.push(r.round),
  });
  assert.deepEqual(rounds, [1, 2]);
  const added = hardened.rounds.reduce((n, r) => n + r.added, 0);
  assert.ok(added > 40, `the attack changed most of the 80 attacked texts: ${added}`);
  assert.equal(hardened.added.texts.length, added);
  assert.ok(
    hardened.added.labels.every((l) => l === spam),
    'attacked spam keeps its label',
  );
  for (const r of hardened.rounds) assert.ok(r.evaded <= r.correctBefore && r.added <= r.correctBefore && r.attacked === 40);
  // None of the added texts is a training text: they are the attack's rewrites.
  const original = new Set(train.texts);
  assert.ok(hardened.added.texts.every((t) => !original.has(t)));
  const before = await evadedShare(plain);
  const after = await evadedShare(hardened.classifier);
  assert.ok(before > 0.3, `the plain filter is evaded: ${before}`);
  assert.ok(after < before, `held-out evasion should fall: ${before} -> ${after}`);
  plain.dispose();
  hardened.classifier.dispose();
});

test('adversarial rounds reject bad options by name', async () => {
  const code = (e: unknown): boolean => e instanceof UsageError && e.code === 'E_TEXT_TRAIN_OPTION';
  await assert.rejects(
    trainTextAdversarially(train, { ...options, threat, rounds: -1 }),
    (e: unknown) => code(e) && /rounds must be a whole number >= 0/.test((e as Error).message),
  );
  await assert.rejects(trainTextAdversarially(train, { ...options, threat, perRound: 0 }), code);
  await assert.rejects(
    trainTextAdversarially(train, { ...options, threat, attackClasses: [2] }),
    (e: unknown) => code(e) && /attack class 2 is not a class of .*ham, spam/.test((e as Error).message),
  );
});

test('rounds start over once every text of the attacked classes has been attacked', async () => {
  await initEngine();
  const spamIndices = train.labels.flatMap((l, i) => (l === spam ? [i] : [])).slice(0, 4);
  const hamIndices = train.labels.flatMap((l, i) => (l === spam ? [] : [i])).slice(0, 8);
  const tiny = takeTexts(train, [...spamIndices, ...hamIndices], 'tiny');
  const result = await trainTextAdversarially(tiny, {
    ...options,
    epochs: 2,
    threat,
    rounds: 2,
    perRound: 3,
    attackClasses: [spam],
    attack: createTextAttack('greedy', { maxQueries: 50 }),
  });
  assert.deepEqual(
    result.rounds.map((r) => r.attacked),
    [3, 3],
    'six attacks over four spam texts',
  );
  result.classifier.dispose();
});

test('with hold-out, a round attacks a model trained without its texts, which the attack gets past more often', async () => {
  await initEngine();
  const run = (holdOut: boolean) =>
    trainTextAdversarially(train, { ...options, threat, rounds: 1, perRound: 40, attackClasses: [spam], attack, holdOut });
  const heldOut = await run(true);
  const memorised = await run(false);
  const share = (r: typeof heldOut): number =>
    (r.rounds[0] as { evaded: number; correctBefore: number }).evaded /
    Math.max(1, (r.rounds[0] as { correctBefore: number }).correctBefore);
  // A model that trained on a message has memorised it: attacks on it fail more often than on new mail.
  assert.ok(share(heldOut) > share(memorised), `held-out ${share(heldOut)} vs memorised ${share(memorised)}`);
  heldOut.classifier.dispose();
  memorised.classifier.dispose();
});

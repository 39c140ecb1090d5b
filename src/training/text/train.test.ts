import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initEngine } from '../../engine/backend.js';
import { RampartError } from '../../core/errors.js';
import { spamAssassinSplits } from '../../data/text/spam-assassin.js';
import { sampleTexts } from '../../data/text/text-dataset.js';
import { textThreatModel } from '../../threats/text-threat.js';
import { charEditDistance } from '../../attacks/text/tokens.js';
import { trainTextClassifier } from './train.js';
import { salientPerturbation } from './salient-perturbation.js';

const splits = spamAssassinSplits({ seed: 5, maxChars: 1500 });
const train = sampleTexts(splits.train, 400, 1);

test('training is seeded; augmentation follows its phased schedule', async () => {
  await initEngine();
  const small = sampleTexts(train, 120, 3);
  const threat = textThreatModel({ maxWordFraction: 0.3, maxCharEditsPerWord: 2, families: ['leet', 'homoglyph'] });
  const perturbed: number[] = [];
  const run = () =>
    trainTextClassifier(small, {
      epochs: 3,
      featurizer: { buckets: 1024 },
      seed: 9,
      augment: {
        threat,
        schedule: [
          { epochs: 1, rate: 0 },
          { epochs: 1, rate: 0.5 },
          { epochs: 1, rate: 1 },
        ],
        perturb: (text, t, seed) => {
          perturbed.push(seed);
          assert.equal(t, threat);
          return text.toUpperCase();
        },
      },
    });
  const a = await run();
  const countA = perturbed.length;
  const b = await run();
  assert.deepEqual(
    a.history.map((h) => h.augmentRate),
    [0, 0.5, 1],
  );
  assert.ok(countA > 0.4 * small.texts.length + small.texts.length * 0.5 && countA <= 2 * small.texts.length, `perturbed ${countA}`);
  assert.deepEqual(await a.classifier.predictProba(small.texts.slice(0, 5)), await b.classifier.predictProba(small.texts.slice(0, 5)));
  a.classifier.dispose();
  b.classifier.dispose();
  await assert.rejects(
    () => trainTextClassifier(small, { epochs: 0 }),
    (e: unknown) => e instanceof RampartError && e.code === 'E_TEXT_TRAIN_OPTION',
  );
});

test('salient perturbation changes the most important words, within budget, deterministic by seed', () => {
  const threat = textThreatModel({ maxWordFraction: 0.25, maxCharEditsPerWord: 1, families: ['leet', 'homoglyph'] });
  const text = 'Claim your free prize money today from us';
  const weight: Record<string, number> = { free: 3, prize: 2, money: 1, today: -1 };
  const importance = (word: string): number => weight[word.toLowerCase()] ?? 0;
  const a = salientPerturbation(text, threat, 4, importance);
  assert.equal(a, salientPerturbation(text, threat, 4, importance));
  const before = text.split(' ');
  const after = a.split(' ');
  const changed = before.filter((w, i) => after[i] !== w);
  // 8 words at 0.25 allow 2 changes: the two words that support the label most.
  assert.deepEqual(changed, ['free', 'prize']);
  for (const i of [2, 3]) assert.ok(charEditDistance(before[i] as string, after[i] as string) <= 1);
  // No word supports the label: nothing to take away.
  assert.equal(
    salientPerturbation(text, threat, 4, () => -1),
    text,
  );
  assert.equal(
    salientPerturbation('too short', threat, 4, () => 1),
    'too short',
  );
});

test("salient augmentation hands the perturbation each word's support for the label under the model being trained", async () => {
  await initEngine();
  const small = sampleTexts(train, 120, 3);
  const threat = textThreatModel({ maxWordFraction: 0.2, maxCharEditsPerWord: 2, families: ['typo'] });
  const seen: number[] = [];
  await trainTextClassifier(small, {
    epochs: 3,
    learningRate: 0.01,
    featurizer: { buckets: 1024 },
    seed: 9,
    augment: {
      threat,
      select: 'salient',
      schedule: [
        { epochs: 2, rate: 0 },
        { epochs: 1, rate: 1 },
      ],
      perturb: (text, t, seed, importance) => {
        assert.ok(importance, 'salient mode passes importance');
        assert.equal(t, threat);
        assert.equal(typeof seed, 'number');
        // The best support any word of the text gives its label.
        seen.push(Math.max(...(text.match(/[A-Za-z]{3,}/g) ?? ['']).map(importance)));
        return text;
      },
    },
  }).then((r) => r.classifier.dispose());
  assert.equal(seen.length, small.texts.length);
  // After two clean epochs every text has some word that supports its label.
  assert.ok(seen.filter((s) => s > 0).length > 0.9 * seen.length, `${seen.filter((s) => s > 0).length} of ${seen.length}`);
  await assert.rejects(
    () => trainTextClassifier(small, { epochs: 1, augment: { threat, select: 'worst' as 'salient' } }),
    (e: unknown) => e instanceof RampartError && e.code === 'E_AUGMENT_SCHEDULE',
  );
});

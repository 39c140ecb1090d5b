import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { RampartError } from '../../core/errors.js';
import { createRng } from '../../core/rng.js';
import { initEngine } from '../../engine/backend.js';
import type { HashedTextClassifier } from '../../models/text/hashed-classifier.js';
import type { TextClassifier } from '../../models/text/text-classifier.js';
import { trainTextClassifier } from '../../training/text/train.js';
import { createTextAttack } from '../../attacks/text/registry.js';
import { textThreatModel } from '../../threats/text-threat.js';
import { leaveOneOut, textGradientTimesInput } from './text.js';
import { explainTextAttacked } from './attacked.js';
import { spearman } from './stats.js';

const SPAM_WORDS = ['free', 'prize', 'cash', 'winner', 'claim', 'offer', 'bonus', 'money'];
const HAM_WORDS = ['meeting', 'project', 'report', 'tomorrow', 'review', 'team', 'schedule', 'notes'];
const FILLER = ['the', 'a', 'for', 'and', 'you', 'we', 'this', 'our', 'to', 'is'];

/** 120 short messages: spam draws from spam words, ham from ham words, both from filler. */
function tinyCorpus(): { name: string; texts: string[]; labels: number[]; classes: string[] } {
  const rng = createRng(9);
  const texts: string[] = [];
  const labels: number[] = [];
  for (let i = 0; i < 120; i++) {
    const spam = i % 2;
    const topical = spam ? SPAM_WORDS : HAM_WORDS;
    const words = Array.from(
      { length: 8 },
      (_, k) => (k % 2 === 0 ? topical[rng.int(topical.length)] : FILLER[rng.int(FILLER.length)]) as string,
    );
    texts.push(words.join(' '));
    labels.push(spam);
  }
  return { name: 'tiny-spam', texts, labels, classes: ['ham', 'spam'] };
}

let cached: HashedTextClassifier | undefined;
async function model(): Promise<HashedTextClassifier> {
  await initEngine();
  cached ??= (
    await trainTextClassifier(tinyCorpus(), { epochs: 3, learningRate: 0.01, featurizer: { buckets: 1024 }, seed: 3, id: 'tiny' })
  ).classifier;
  return cached;
}

const MESSAGE = 'claim your free cash prize for the team meeting tomorrow';

test('leave-one-out: each word scored by the drop in probability when it alone is removed; spam words lead', async () => {
  const m = await model();
  const attr = await leaveOneOut(m, MESSAGE);
  assert.equal(attr.target, 1, 'explains the predicted class (spam)');
  assert.equal(attr.words.length, 10);
  assert.equal(attr.evaluations, 11);
  const [p0] = await m.predictProba([MESSAGE]);
  const [without] = await m.predictProba(['claim your cash prize for the team meeting tomorrow'.replace('your cash', 'your  cash')]);
  const free = attr.words.find((w) => w.word === 'free');
  assert.ok(free && Math.abs(free.importance - ((p0![1] as number) - (without![1] as number))) < 1e-6);
  const top = [...attr.words]
    .sort((a, b) => b.importance - a.importance)
    .slice(0, 4)
    .map((w) => w.word);
  assert.ok(
    top.every((w) => SPAM_WORDS.includes(w)),
    `top words ${top.join(', ')}`,
  );
  const ham = await leaveOneOut(m, MESSAGE, { target: 0 });
  assert.ok(ham.words.find((w) => w.word === 'meeting')!.importance > 0, 'ham words support ham');
});

test('gradient × input through the hashed features ranks words like leave-one-out, in one pass', async () => {
  const m = await model();
  const messages = [MESSAGE, 'free bonus money for our project review notes', 'the team report is a winner offer'];
  for (const text of messages) {
    const a = await leaveOneOut(m, text, { target: 1 });
    const g = await textGradientTimesInput(m, text, { target: 1 });
    assert.equal(g.evaluations, 1);
    const rho = spearman(
      a.words.map((w) => w.importance),
      g.words.map((w) => w.importance),
    );
    assert.ok(rho > 0.6, `rank correlation ${rho.toFixed(3)} on '${text}'`);
  }
  const before = tf.memory().numTensors;
  await textGradientTimesInput(m, MESSAGE);
  assert.equal(tf.memory().numTensors, before, 'no tensors left behind');
});

test('black-box text models get leave-one-out; gradient × input is refused naming it', async () => {
  const m = await model();
  const black: TextClassifier = { id: 'black', classes: m.classes, predictProba: (t) => m.predictProba(t) };
  assert.equal((await leaveOneOut(black, MESSAGE)).target, 1);
  await assert.rejects(
    textGradientTimesInput(black, MESSAGE),
    (e: unknown) => e instanceof RampartError && e.code === 'E_TEXT_NO_WHITEBOX' && /leave-one-out/.test(e.message),
  );
  await assert.rejects(
    leaveOneOut(black, MESSAGE, { target: 2 }),
    (e: unknown) => e instanceof RampartError && e.code === 'E_EXPLAIN_TARGET',
  );
  await assert.rejects(
    leaveOneOut(black, MESSAGE, { maxWords: 0 }),
    (e: unknown) => e instanceof RampartError && e.code === 'E_EXPLAIN_OPTION',
  );
});

test('attacked texts: the words an attack changes are the ones that mattered, and the summary counts them', async () => {
  const m = await model();
  const texts = [
    'claim your free cash prize now and the winner bonus',
    'free money offer for you and our winner',
    'cash prize for the winner claim it',
  ];
  const labels = Int32Array.from([1, 1, 1]);
  const threat = textThreatModel({ maxWordFraction: 0.5, maxCharEditsPerWord: 2, families: ['char-edit'] });
  const result = await createTextAttack('greedy', { refinePasses: 0 }).run(m, texts, labels, threat, { seed: 2 });
  const items = texts.map((original, i) => ({ original, adversarial: result.adversarial[i] as string, label: 1 }));
  const { shifts, summary } = await explainTextAttacked(m, threat.id, items);
  assert.equal(shifts.length, 3);
  for (const [i, s] of shifts.entries()) {
    if (items[i]!.adversarial === items[i]!.original) continue;
    assert.ok(s.moved.length > 0);
    const all = (await leaveOneOut(m, items[i]!.original, { target: 1 })).words;
    const meanAll = all.reduce((a, w) => a + w.importance, 0) / all.length;
    const meanMoved = s.moved.reduce((a, w) => a + w.importanceBefore, 0) / s.moved.length;
    assert.ok(meanMoved > meanAll, `moved words mattered more (${meanMoved.toFixed(3)}) than the average word (${meanAll.toFixed(3)})`);
    assert.ok(s.probabilityAfter < s.probabilityBefore);
  }
  assert.equal(summary.threat, threat.id);
  assert.ok(summary.words.length > 0 && summary.words.every((w) => SPAM_WORDS.includes(w.word) || !HAM_WORDS.includes(w.word)));
  assert.ok(summary.words[0]!.count >= summary.words.at(-1)!.count);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../core/errors.js';
import { createTextAttack } from '../attacks/text/registry.js';
import { withDecisionThreshold } from '../models/text/decision-threshold.js';
import type { TextClassifier } from '../models/text/text-classifier.js';
import { textThreatModel } from '../threats/text-threat.js';
import { recordTextTraces, textOperatingPoint } from './text-frontier.js';

/**
 * A hand-weighted logistic spam scorer over lower-cased words: small enough to run many
 * searches, smooth enough that messages evade at some thresholds and not at others.
 */
const WEIGHTS: Record<string, number> = { free: 1.6, winner: 1.4, prize: 1.2, cash: 1.1, click: 0.9, offer: 0.8, now: 0.5, money: 1 };
/**
 * A keyword's weight scaled by how much of it a disguise keeps, earlier letters counting
 * more: every edit lowers the score by a different amount, so the search's first picks can
 * be bettered and its refinement has work.
 */
function weightOf(word: string): number {
  let best = 0;
  for (const [k, w] of Object.entries(WEIGHTS)) {
    if (word.length !== k.length) continue;
    let kept = 0;
    for (let i = 0; i < k.length; i++) if (word[i] === k[i]) kept += 2 ** -i;
    best = Math.max(best, w * (kept / (2 - 2 ** (1 - k.length))) ** 2);
  }
  return best;
}
const scorer: TextClassifier = {
  id: 'keywords',
  classes: ['ham', 'spam'],
  predictProba: async (texts) =>
    texts.map((t) => {
      const logit =
        -2.5 +
        t
          .toLowerCase()
          .split(/\s+/)
          .reduce((z, w) => z + weightOf(w), 0);
      const p = 1 / (1 + Math.exp(-logit));
      return Float32Array.from([1 - p, p]);
    }),
};
const TEXTS = [
  'free prize for the winner click now',
  'claim your free cash now and click here for the offer',
  'winner winner you won money and a prize click the offer now',
  'free money free cash free prize click now winner',
  'the meeting moved to three, bring the offer letter',
  'cash offer now',
];

test('one run at a low threshold gives what runs at each higher threshold give (success and queries)', async () => {
  const threat = textThreatModel({ maxWordFraction: 0.5, maxWords: 3, maxCharEditsPerWord: 2, families: ['typo'] });
  const attack = createTextAttack('greedy', { maxQueries: 150 });
  const labels = Int32Array.from(TEXTS, () => 1);
  const low = 0.1;
  const recorder = recordTextTraces(TEXTS.length, { positiveClass: 1, threshold: low });
  const run = await attack.run(withDecisionThreshold(scorer, { positiveClass: 1, threshold: low }), [...TEXTS], labels, threat, {
    seed: 3,
    onStep: recorder.onStep,
  });
  const traces = recorder.traces(run.queries);
  let evadedSomewhere = 0;
  let heldSomewhere = 0;
  for (const t of [0.1, 0.3, 0.5, 0.7, 0.9]) {
    const direct = await attack.run(withDecisionThreshold(scorer, { positiveClass: 1, threshold: t }), [...TEXTS], labels, threat, {
      seed: 3,
    });
    const caught = [...direct.originalCorrect.keys()].filter((i) => direct.originalCorrect[i]);
    const evaded = caught.filter((i) => direct.success[i]).length;
    const queries = caught.reduce((q, i) => q + (direct.queries[i] as number), 0);
    const point = textOperatingPoint(traces, t, low);
    assert.equal(point.attacked, caught.length, `attacked at ${t}`);
    assert.equal(point.evaded, evaded, `evaded at ${t}`);
    assert.equal(point.queriesPerText * point.attacked, queries, `queries at ${t}`);
    evadedSomewhere += evaded;
    heldSomewhere += caught.length - evaded;
  }
  // The fixture is only a check if both outcomes occur.
  assert.ok(evadedSomewhere > 0 && heldSomewhere > 0, `evaded ${evadedSomewhere}, held ${heldSomewhere}`);
});

test('below the attacked threshold the traces are refused', () => {
  const recorder = recordTextTraces(1, { positiveClass: 1, threshold: 0.5 });
  recorder.onStep({ index: 0, queries: 1, probs: Float32Array.from([0.2, 0.8]) });
  const traces = recorder.traces([1]);
  assert.equal(traces[0]?.clean.toFixed(6), '0.800000');
  assert.throws(
    () => textOperatingPoint(traces, 0.3, 0.5),
    (e: unknown) => e instanceof UsageError && e.code === 'E_TEXT_FRONTIER',
  );
  assert.deepEqual(textOperatingPoint(traces, 0.5, 0.5), { threshold: 0.5, attacked: 1, evaded: 0, successRate: 0, queriesPerText: 1 });
});

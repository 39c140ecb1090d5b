import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openGovernance } from './governance.js';
import { captureLimitsSchema, type CaptureInput } from './capture-types.js';
import { decideReview, listReview, showReview } from './review.js';
import { importEvaluationExamples } from './review-import.js';

const open = () => openGovernance(mkdtempSync(join(tmpdir(), 'rampart-review-')), { actor: 'ci' });
const flagged = (v: number): CaptureInput => ({
  source: 'flag',
  model: 'm',
  client: 'key:k1',
  at: new Date().toISOString(),
  decisions: [{ layer: 'ood', decision: 'flag', score: 2 }],
  x: [v, v, v, v],
  shape: [2, 2, 1],
  predicted: 4,
});

test('decisions need a reason, and attack/relabel need the true label; each is audited with the reviewer', () => {
  const gov = open();
  try {
    const { ids } = gov.captures.write([flagged(0.1), flagged(0.2), flagged(0.3)], { limits: captureLimitsSchema.parse({}) });
    const [a, b, c] = ids as [string, string, string];
    assert.deepEqual(
      listReview(gov).map((i) => i.id),
      [a, b, c],
    );
    assert.throws(() => decideReview(gov, a, { verdict: 'attack', reason: 'noise' }, 'alice'), { code: 'E_REVIEW_DECISION' });
    assert.throws(() => decideReview(gov, a, { verdict: 'attack', label: 7, reason: ' ' }, 'alice'), { code: 'E_REVIEW_DECISION' });
    assert.throws(() => decideReview(gov, a, { verdict: 'maybe', reason: 'x' }, 'alice'), { code: 'E_REVIEW_DECISION' });
    assert.throws(() => decideReview(gov, 'cap_0000000000000000', { verdict: 'benign', reason: 'x' }, 'alice'), {
      code: 'E_CAPTURE_NOT_FOUND',
    });
    const attack = decideReview(gov, a, { verdict: 'attack', label: 7, reason: 'PGD-like noise on a 7' }, 'alice');
    assert.deepEqual([attack.review.status, attack.review.trueLabel, attack.review.reviewer], ['attack', 7, 'alice']);
    // Benign keeps the model's answer as the label: it was right.
    assert.equal(decideReview(gov, b, { verdict: 'benign', reason: 'a sloppy 4' }, 'bob').review.trueLabel, 4);
    decideReview(gov, c, { verdict: 'relabel', label: 9, reason: 'it is a 9' }, 'bob');
    // A second decision overrides the first; the audit log keeps both.
    decideReview(gov, c, { verdict: 'attack', label: 9, reason: 'on second look, a perturbed 9' }, 'carol');
    assert.deepEqual(listReview(gov), []);
    assert.deepEqual(
      listReview(gov, { status: 'attack' }).map((i) => i.id),
      [a, c],
    );
    const log = gov.audit.list({ action: 'review.decide' });
    assert.deepEqual(
      log.map((e) => [e.actor, e.subject, e.details.verdict, e.details.previous]),
      [
        ['alice', a, 'attack', 'pending'],
        ['bob', b, 'benign', 'pending'],
        ['bob', c, 'relabel', 'pending'],
        ['carol', c, 'attack', 'relabel'],
      ],
    );
    assert.equal(log[0]?.details.reason, 'PGD-like noise on a 7');
    assert.equal(showReview(gov, a).input.kind, 'image');
    assert.ok(gov.audit.verify().ok);
  } finally {
    gov.close();
  }
});

test('evaluation examples near the boundary are queued with their true labels and provenance', () => {
  const gov = open();
  try {
    const set = {
      model: 'hardened',
      threat: 'linf-0.3',
      attack: 'pgd',
      shape: [2, 2, 1],
      bounds: { min: 0, max: 1 },
      items: [
        { label: 1, cleanPrediction: 1, adversarialPrediction: 3, clean: [0, 0, 0, 0], adversarial: [0.1, 0.2, 0.3, 0.4] },
        { label: 2, cleanPrediction: 2, adversarialPrediction: 2, clean: [0, 0, 0, 0], adversarial: [0.5, 0.5, 0.5, 0.5] },
        { label: 5, cleanPrediction: 6, adversarialPrediction: 6, clean: [0, 0, 0, 0], adversarial: [0.9, 0.9, 0.9, 0.9] },
      ],
    };
    const r = importEvaluationExamples(gov, set, { evaluation: 'ab'.repeat(32) });
    assert.equal(r.written, 1);
    const item = listReview(gov, { source: 'evaluation' })[0];
    assert.deepEqual([item?.label, item?.predicted, item?.threat, item?.note.evaluation], [1, 3, 'linf-0.3', 'ab'.repeat(32)]);
    assert.equal(importEvaluationExamples(gov, set, { borderlineOnly: false }).written, 3);
    const text = [
      {
        model: 'spam/text',
        threat: 'typos',
        items: [{ original: 'buy now', adversarial: 'b.uy n0w', label: 'spam', originalPrediction: 'spam', adversarialPrediction: 'ham' }],
      },
    ];
    assert.throws(() => importEvaluationExamples(gov, text), { code: 'E_REVIEW_IMPORT' });
    importEvaluationExamples(gov, text, { classes: ['ham', 'spam'] });
    const t = listReview(gov, { source: 'evaluation', limit: 10 }).find((i) => i.channel === 'text');
    assert.deepEqual([t?.label, t?.predicted], [1, 0]);
    assert.throws(() => importEvaluationExamples(gov, { nope: 1 }), { code: 'E_REVIEW_IMPORT' });
  } finally {
    gov.close();
  }
});

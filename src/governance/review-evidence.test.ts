import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openGovernance } from './governance.js';
import { captureLimitsSchema, type CaptureInput } from './capture-types.js';
import { decideReview } from './review.js';
import { applyProductionEvidence, productionEvidence } from './review-evidence.js';

test('confirmed attacks and canary misses raise a threat residual above the lab measurement, audited', () => {
  const gov = openGovernance(mkdtempSync(join(tmpdir(), 'rampart-evidence-')), { actor: 'ci' });
  try {
    gov.risks.add({ threatId: 't', title: 'T', likelihood: 4, impact: 5, owner: 'o' });
    gov.risks.add({ threatId: 'quiet', title: 'Q', likelihood: 4, impact: 5, owner: 'o' });
    gov.risks.recordMeasurement('t', 0.1);
    gov.risks.recordMeasurement('quiet', 0.3);
    const at = new Date().toISOString();
    const item = (text: string, threat: string, extra: Partial<CaptureInput> = {}): CaptureInput => ({
      source: 'flag',
      model: 'm',
      client: 'c',
      at,
      decisions: [],
      text,
      threat,
      ...extra,
    });
    const ids = gov.captures.write(
      [
        item('a', 't'),
        item('b', 't'),
        item('c', 't'),
        item('p', 'quiet', { source: 'canary', label: 1, note: { probes: 10, misses: 1 } }),
        item('e', 't', { source: 'evaluation' }),
      ],
      { limits: captureLimitsSchema.parse({}), redact: { emails: false, urls: false, numbers: false } },
    ).ids;
    decideReview(gov, ids[0] as string, { verdict: 'attack', label: 1, reason: 'x' }, 'r');
    decideReview(gov, ids[1] as string, { verdict: 'relabel', label: 0, reason: 'x' }, 'r');
    decideReview(gov, ids[2] as string, { verdict: 'benign', reason: 'x' }, 'r');
    // Evaluation items are lab evidence, not production: reviewing one does not count.
    decideReview(gov, ids[4] as string, { verdict: 'attack', label: 1, reason: 'x' }, 'r');
    const evidence = productionEvidence(gov);
    assert.deepEqual(evidence.t, { reviewed: 3, confirmed: 2, confirmedRate: 2 / 3, canaryMissRate: null });
    assert.equal(evidence.quiet?.canaryMissRate, 0.1);
    const changed = applyProductionEvidence(gov);
    // 'quiet' keeps its lab number: the canary's 10% is below the evaluation's 30%.
    assert.deepEqual(
      changed.map((r) => [r.threatId, Math.round((r.measuredSuccess ?? 0) * 1000) / 1000]),
      [['t', 0.667]],
    );
    assert.equal(gov.risks.find('t')?.residualScore, Math.round(20 * (2 / 3) * 1000) / 1000);
    assert.equal(gov.audit.list({ action: 'risk.production-evidence' }).length, 1);
    assert.deepEqual(applyProductionEvidence(gov), []);
  } finally {
    gov.close();
  }
});

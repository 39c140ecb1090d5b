import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openGovernance } from './governance.js';
import { captureLimitsSchema, type CaptureInput } from './capture-types.js';
import { decideReview } from './review.js';
import { buildAdversarialSet, readAdversarialSet } from './adversarial-set.js';

const limits = captureLimitsSchema.parse({});
const open = () => openGovernance(mkdtempSync(join(tmpdir(), 'rampart-advset-')), { actor: 'ci' });

test('confirmed attacks become a versioned, deduplicated set with lineage to the model and the previous version', () => {
  const gov = open();
  try {
    const model = gov.registry.put({ kind: 'model', name: 'm', bytes: 'weights' });
    const capture = (v: number, threat = 'linf-0.1'): CaptureInput => ({
      source: 'flag',
      model: model.digest,
      client: 'key:k',
      at: new Date().toISOString(),
      decisions: [],
      x: [v, v, v, v],
      shape: [2, 2, 1],
      predicted: 1,
      threat,
    });
    // The same input twice (two requests), a third one, and one left benign.
    const ids = gov.captures.write([capture(0.1), capture(0.1), capture(0.2, 'l2-1'), capture(0.3)], { limits }).ids;
    assert.throws(() => buildAdversarialSet(gov, { name: 's' }), { code: 'E_ADVSET_EMPTY' });
    decideReview(gov, ids[0] as string, { verdict: 'attack', label: 7, reason: 'a' }, 'r');
    decideReview(gov, ids[1] as string, { verdict: 'attack', label: 7, reason: 'same input, second request' }, 'r');
    decideReview(gov, ids[2] as string, { verdict: 'relabel', label: 2, reason: 'b' }, 'r');
    decideReview(gov, ids[3] as string, { verdict: 'benign', reason: 'c' }, 'r');
    const v1 = buildAdversarialSet(gov, { name: 's' });
    assert.equal(v1.set.items.length, 2);
    assert.equal(v1.version, 1);
    assert.deepEqual(v1.artifact.meta.threats, { 'linf-0.1': 1, 'l2-1': 1 });
    assert.deepEqual(v1.artifact.parents, [model.digest]);
    assert.throws(() => buildAdversarialSet(gov, { name: 's', ids: [ids[3] as string] }), { code: 'E_ADVSET_UNREVIEWED' });
    // Same reviewed items again: the same artifact.
    const again = buildAdversarialSet(gov, { name: 's' });
    assert.equal(again.artifact.digest, v1.artifact.digest);
    assert.equal(again.artifact.existed, true);
    // A new confirmation makes version 2, a child of version 1.
    decideReview(gov, ids[3] as string, { verdict: 'attack', label: 3, reason: 'second look' }, 'r');
    const v2 = buildAdversarialSet(gov, { name: 's' });
    assert.equal(v2.version, 2);
    assert.ok(v2.artifact.parents.includes(v1.artifact.digest));
    const read = readAdversarialSet(gov.registry, v2.artifact.digest);
    assert.equal(read.set.items.length, 3);
    assert.deepEqual(read.set.items.map((i) => i.label).sort(), [2, 3, 7]);
    assert.throws(() => readAdversarialSet(gov.registry, model.digest), { code: 'E_ADVSET_INVALID' });
    // Only what was decided after a time (what a refresh takes).
    const since = buildAdversarialSet(gov, { name: 'recent', decidedAfter: v1.artifact.createdAt });
    assert.equal(since.set.items.length, 1);
  } finally {
    gov.close();
  }
});

test('a vulnerability whose threat has confirmed attacks is verified only by an evaluation that passed on them', () => {
  const gov = open();
  try {
    const failing = gov.registry.put({
      kind: 'evaluation',
      name: 'fail',
      json: { a: 1 },
      meta: { passed: false, threats: { t: { passed: false } } },
    });
    const v = gov.vulnerabilities.file({
      threatId: 't',
      attack: 'pgd',
      evidence: { metric: 'robustAccuracy', measured: 0.1, required: '>= 0.5' },
      severity: 'high',
      owner: 'o',
      remediation: 'retrain',
      evaluationDigest: failing.digest,
    });
    gov.vulnerabilities.transition(v.id, 'fixed', { note: 'retrained' });
    const ids = gov.captures.write(
      [{ source: 'canary', model: 'm', client: 'canary', at: new Date().toISOString(), decisions: [], text: 'x', label: 1, threat: 't' }],
      { limits },
    ).ids;
    decideReview(gov, ids[0] as string, { verdict: 'attack', label: 1, reason: 'probe' }, 'r');
    buildAdversarialSet(gov, { name: 'confirmed' });
    const without = gov.registry.put({
      kind: 'evaluation',
      name: 'pass',
      json: { a: 2 },
      meta: { passed: true, threats: { t: { passed: true } } },
    });
    assert.throws(() => gov.vulnerabilities.transition(v.id, 'verified', { evaluationDigest: without.digest }), {
      code: 'E_VULN_NOT_VERIFIED',
      message: /confirmed attacks/,
    });
    const stillBroken = gov.registry.put({
      kind: 'evaluation',
      name: 'pass2',
      json: { a: 3 },
      meta: { passed: true, threats: { t: { passed: true } }, adversarialSet: { threats: { t: { passed: false, accuracy: 0.2 } } } },
    });
    assert.throws(() => gov.vulnerabilities.transition(v.id, 'verified', { evaluationDigest: stillBroken.digest }), {
      code: 'E_VULN_NOT_VERIFIED',
    });
    const good = gov.registry.put({
      kind: 'evaluation',
      name: 'pass3',
      json: { a: 4 },
      meta: { passed: true, threats: { t: { passed: true } }, adversarialSet: { threats: { t: { passed: true, accuracy: 1 } } } },
    });
    assert.equal(gov.vulnerabilities.transition(v.id, 'verified', { evaluationDigest: good.digest }).status, 'verified');
  } finally {
    gov.close();
  }
});

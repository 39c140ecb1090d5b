/** Governance library: registry, lineage, tags, risks, vulnerabilities and the audit trail on a real .rampart directory. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { engine } from './fixtures.js';
import { buildModel } from '../src/models/architectures.js';
import { loadClassifierModel, saveClassifierModel } from '../src/models/store.js';
import { expectCode } from './registry-errors.js';
import { canonicalJson, openGovernance, residualScore, riskBand, sha256Hex, type Governance } from '../src/governance/index.js';

describe('governance', () => {
  let root: string;
  let gov: Governance;

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'rampart-gov-'));
    gov = openGovernance(join(root, '.rampart'), { actor: 'tester' });
  });

  after(() => {
    gov.close();
    rmSync(root, { recursive: true, force: true });
  });

  test('canonical JSON sorts keys at every level and refuses non-finite numbers', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: null } }), '{"a":{"c":null,"d":[1,{"y":2,"z":1}]},"b":1}');
    assert.throws(() => canonicalJson({ x: Number.NaN }), /Cannot store NaN at 'x'/);
  });

  test('put is content-addressed and idempotent; get takes prefixes and tags', () => {
    const a = gov.registry.put({ kind: 'plan', name: 'plan-a', json: { seed: 1, threats: ['linf'] }, meta: { version: 1 } });
    assert.equal(a.existed, false);
    assert.equal(a.digest, sha256Hex('{"seed":1,"threats":["linf"]}'));
    assert.equal(
      readFileSync(join(gov.dir, 'objects', 'sha256', a.digest.slice(0, 2), a.digest.slice(2)), 'utf8'),
      '{"seed":1,"threats":["linf"]}',
    );
    const again = gov.registry.put({ kind: 'plan', name: 'plan-a', json: { threats: ['linf'], seed: 1 } });
    assert.equal(again.existed, true);
    assert.equal(again.digest, a.digest);
    assert.equal(gov.registry.list({ kind: 'plan' }).length, 1);
    assert.equal(gov.registry.get(a.digest.slice(0, 6)).name, 'plan-a');
    assert.equal(gov.registry.get(`sha256:${a.digest.toUpperCase()}`).digest, a.digest);
    expectCode(() => gov.registry.get('ffff0000'), 'E_REGISTRY_NOT_FOUND');
    expectCode(() => gov.registry.get('no such thing'), 'E_REGISTRY_BAD_REF');
    expectCode(
      () => gov.registry.put({ kind: 'report', name: 'same bytes', json: { seed: 1, threats: ['linf'] } }),
      'E_REGISTRY_KIND_CONFLICT',
    );
    expectCode(() => gov.registry.put({ kind: 'plan', name: 'two sources', json: {}, bytes: 'x' }), 'E_REGISTRY_INPUT');
    expectCode(() => gov.registry.put({ kind: 'weights' as never, name: 'x', bytes: 'x' }), 'E_REGISTRY_INPUT');
    expectCode(() => gov.registry.put({ kind: 'plan', name: 'orphan', bytes: 'x', parents: ['abcdef12'] }), 'E_REGISTRY_NOT_FOUND');
  });

  test('an ambiguous prefix names the candidates', () => {
    // Find two contents whose digests share a 4-hex prefix (deterministic search).
    const seen = new Map<string, number>();
    let pair: [number, number] | undefined;
    for (let i = 0; !pair; i++) {
      const p = sha256Hex(`blob ${i}`).slice(0, 4);
      const j = seen.get(p);
      if (j !== undefined) pair = [j, i];
      seen.set(p, i);
    }
    const x = gov.registry.put({ kind: 'dataset', name: 'x', bytes: `blob ${pair[0]}` });
    const y = gov.registry.put({ kind: 'dataset', name: 'y', bytes: `blob ${pair[1]}` });
    const error = expectCode(() => gov.registry.get(x.digest.slice(0, 4)), 'E_REGISTRY_AMBIGUOUS');
    assert.match(error.message, new RegExp(`${x.digest.slice(0, 12)} dataset x`));
    assert.match(error.message, new RegExp(`${y.digest.slice(0, 12)} dataset y`));
  });

  test('a real model directory round-trips: stored as a manifest, materialized, loaded, same predictions', async () => {
    await engine();
    const model = buildModel('mlp', { inputShape: [28, 28, 1], numClasses: 10, seed: 5 });
    const dir = join(root, 'model-a');
    await saveClassifierModel(model, dir, { architecture: 'mlp', inputShape: [28, 28, 1], numClasses: 10, bounds: { min: 0, max: 1 } });
    const plan = gov.registry.get(sha256Hex('{"seed":1,"threats":["linf"]}'));
    const data = gov.registry.put({ kind: 'dataset', name: 'mnist-test-10', bytes: new Uint8Array(784 * 10).fill(7) });
    const stored = gov.registry.put({ kind: 'model', name: 'mlp', path: dir, meta: { epochs: 0 }, parents: [plan.digest, data.digest] });
    assert.equal(stored.storage, 'manifest');
    assert.deepEqual(
      gov.registry.manifest(stored.digest).map((f) => f.path),
      ['model.json', 'weights.bin'],
    );
    assert.deepEqual([...stored.parents].sort(), [plan.digest, data.digest].sort());

    const out = gov.registry.materialize(stored.digest.slice(0, 10), join(root, 'restored'));
    assert.deepEqual(
      readdirSync(root).filter((f) => f.startsWith('restored')),
      ['restored'],
    );
    const loaded = await loadClassifierModel(out);
    const x = tf.tidy(() => tf.randomUniform([3, 28, 28, 1], 0, 1, 'float32', 1));
    const [p1, p2] = tf.tidy(() => [model.predict(x) as tf.Tensor, loaded.model.predict(x) as tf.Tensor]);
    assert.deepEqual(await p1!.data(), await p2!.data());
    tf.dispose([x, p1!, p2!]);
    model.dispose();
    loaded.model.dispose();

    const lineage = gov.registry.lineage(data.digest);
    assert.deepEqual(
      lineage.descendants.map((n) => n.digest),
      [stored.digest],
    );
    const up = gov.registry.lineage(stored.digest);
    assert.deepEqual(up.ancestors.map((n) => n.kind).sort(), ['dataset', 'plan']);
    assert.equal(up.edges.length, 2);
  });

  test('tags keep a history; promote needs a reason; rollback returns to the previous target', () => {
    const m1 = gov.registry.put({ kind: 'model', name: 'm1', bytes: 'model one' });
    const m2 = gov.registry.put({ kind: 'model', name: 'm2', bytes: 'model two' });
    const m3 = gov.registry.put({ kind: 'model', name: 'm3', bytes: 'model three' });
    expectCode(() => gov.registry.promote(m1.digest, 'production', { reason: ' ' }), 'E_REGISTRY_REASON');
    expectCode(() => gov.registry.tag(m1.digest, 'cafe'), 'E_REGISTRY_BAD_TAG');
    gov.registry.promote(m1.digest, 'production', { reason: 'first release' });
    gov.registry.promote(m2.digest, 'production', { reason: 'gate passed' });
    gov.registry.promote(m3.digest, 'production', { reason: 'gate passed again' });
    assert.equal(gov.registry.resolveTag('production'), m3.digest);
    assert.equal(gov.registry.previous('production'), m2.digest);
    assert.equal(gov.registry.get('production').digest, m3.digest);
    assert.equal(gov.registry.get('tag:production').digest, m3.digest);
    assert.deepEqual(
      gov.registry.list({ tag: 'production' }).map((a) => a.name),
      ['m3'],
    );

    const back = gov.registry.rollback('production', { reason: 'canary failed' });
    assert.equal(back.digest, m2.digest);
    assert.equal(back.previousDigest, m3.digest);
    // A second rollback goes further back, never forward to the version just rolled back.
    assert.equal(gov.registry.previous('production'), m1.digest);
    gov.registry.rollback('production', { reason: 'still bad' });
    assert.equal(gov.registry.resolveTag('production'), m1.digest);
    expectCode(() => gov.registry.rollback('production', { reason: 'nothing left' }), 'E_REGISTRY_NO_PREVIOUS');
    assert.deepEqual(
      gov.registry.tagHistory('production').map((e) => `${e.action}:${e.reason}`),
      ['promote:first release', 'promote:gate passed', 'promote:gate passed again', 'rollback:canary failed', 'rollback:still bad'],
    );
    const promotions = gov.audit.list({ subject: 'production' });
    assert.deepEqual(
      promotions.map((e) => e.action),
      ['promote', 'promote', 'promote', 'rollback', 'rollback'],
    );
    assert.equal(promotions[3]?.details.digest, m2.digest);
  });

  test('diff shows meta and metric changes of evaluations and changed files of models', () => {
    const e1 = gov.registry.put({
      kind: 'evaluation',
      name: 'eval-1',
      json: { clean: 0.98, robust: { linf: 0.12 } },
      meta: { passed: false },
    });
    const e2 = gov.registry.put({
      kind: 'evaluation',
      name: 'eval-2',
      json: { clean: 0.97, robust: { linf: 0.71 } },
      meta: { passed: true },
    });
    const d = gov.registry.diff(e1.digest, e2.digest);
    assert.deepEqual(d.meta, [{ path: 'passed', a: false, b: true }]);
    assert.deepEqual(d.content, [
      { path: 'clean', a: 0.98, b: 0.97, delta: -0.01 },
      { path: 'robust.linf', a: 0.12, b: 0.71, delta: 0.59 },
    ]);
    const dirA = join(root, 'dir-a');
    const dirB = join(root, 'dir-b');
    for (const [dir, weights] of [
      [dirA, 'w1'],
      [dirB, 'w2'],
    ] as const) {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'model.json'), '{"same":true}');
      writeFileSync(join(dir, 'weights.bin'), weights);
    }
    writeFileSync(join(dirB, 'extra.txt'), 'x');
    const fd = gov.registry.diff(
      gov.registry.put({ kind: 'checkpoint', name: 'a', path: dirA }).digest,
      gov.registry.put({ kind: 'checkpoint', name: 'b', path: dirB }).digest,
    );
    assert.deepEqual(
      fd.files.map((f) => [f.path, f.a === null, f.b === null]),
      [
        ['extra.txt', true, false],
        ['weights.bin', false, false],
      ],
    );
  });

  test('risks: one per plan threat, scores, bands and residual from measured success', () => {
    assert.equal(residualScore(4, 5, null), 20);
    assert.equal(residualScore(4, 5, 0.25), 5);
    assert.deepEqual([1, 4, 5, 9, 10, 16, 20, 25].map(riskBand), [
      'low',
      'low',
      'medium',
      'medium',
      'high',
      'high',
      'critical',
      'critical',
    ]);
    const threats = [{ id: 'linf-0.1', likelihood: 4, impact: 5, title: 'Small L-inf perturbations' }, { id: 'typo-2' }];
    const first = gov.risks.syncFromThreats(threats, { owner: 'ml-team' });
    assert.equal(first.created.length, 2);
    const second = gov.risks.syncFromThreats(threats);
    assert.deepEqual([second.created.length, second.existing.length], [0, 2]);
    const linf = gov.risks.find('linf-0.1')!;
    assert.deepEqual([linf.inherentScore, linf.inherentBand, linf.residualScore, linf.owner], [20, 'critical', 20, 'ml-team']);
    const measured = gov.risks.recordMeasurement('linf-0.1', 0.3);
    assert.deepEqual([measured.measuredSuccess, measured.residualScore, measured.residualBand], [0.3, 6, 'medium']);
    expectCode(() => gov.risks.recordMeasurement('linf-0.1', 1.5), 'E_RISK_INPUT');
    expectCode(() => gov.risks.recordMeasurement('unknown-threat', 0.5), 'E_RISK_NOT_FOUND');
    const manual = gov.risks.add({ title: 'Model stolen through the API', likelihood: 2, impact: 4, owner: 'sec' });
    assert.match(manual.id, /^RISK-\d{4}$/);
    expectCode(() => gov.risks.add({ title: 'x', likelihood: 6, impact: 1, owner: 'o' }), 'E_RISK_INPUT');
    expectCode(() => gov.risks.add({ threatId: 'typo-2', title: 'dup', likelihood: 1, impact: 1, owner: 'o' }), 'E_RISK_DUPLICATE_THREAT');
    const updated = gov.risks.update(manual.id, { status: 'accepted', reason: 'rate limits in place' });
    assert.equal(updated.status, 'accepted');
    const entry = gov.audit.list({ subject: manual.id }).at(-1)!;
    assert.equal(entry.action, 'risk.update');
    assert.deepEqual(entry.details.changes, { status: { from: 'open', to: 'accepted' } });
    assert.deepEqual(
      gov.risks.list({ status: 'accepted' }).map((r) => r.id),
      [manual.id],
    );
  });

  test('vulnerabilities: filed from a failing evaluation, verified only by a passing re-evaluation', () => {
    const failing = gov.registry.put({
      kind: 'evaluation',
      name: 'eval-fail',
      json: { robust: 0.2 },
      meta: { passed: false, threats: { 'linf-0.1': { passed: false, attackSuccessRate: 0.8 } } },
    });
    const oldPass = gov.registry.put({
      kind: 'evaluation',
      name: 'eval-old-pass',
      json: { robust: 0.9, old: true },
      meta: { passed: true, threats: { 'linf-0.1': { passed: true } } },
    });
    const v = gov.vulnerabilities.file({
      threatId: 'linf-0.1',
      attack: 'pgd linf eps=0.1 steps=40',
      evidence: {
        metric: 'robustAccuracy',
        measured: 0.2,
        required: '>= 0.7',
        examples: [{ index: 3, label: 5, predicted: 3, 'linf|distance': 0.1 }],
      },
      severity: 'critical',
      owner: 'ml-team',
      remediation: 'Adversarial training with PGD-AT at eps 0.1.',
      evaluationDigest: failing.digest,
    });
    assert.equal(v.status, 'open');
    const md = gov.vulnerabilities.report(v.id);
    for (const s of [
      '# VULN-0001',
      '`linf-0.1`',
      'pgd linf eps=0.1 steps=40',
      '| robustAccuracy | 0.2 | >= 0.7 |',
      '| index | label | predicted | linf\\|distance |',
      '**critical**',
      'PGD-AT',
      failing.digest,
    ]) {
      assert.ok(md.includes(s), `report lacks ${s}`);
    }
    assert.deepEqual(gov.registry.get(v.reportDigest).parents, [failing.digest]);
    expectCode(() => gov.vulnerabilities.transition(v.id, 'verified', { evaluationDigest: oldPass.digest }), 'E_VULN_TRANSITION');
    gov.vulnerabilities.transition(v.id, 'fixed', { note: 'retrained with PGD-AT' });
    expectCode(() => gov.vulnerabilities.transition(v.id, 'verified'), 'E_VULN_NOT_VERIFIED');
    expectCode(() => gov.vulnerabilities.transition(v.id, 'verified', { evaluationDigest: failing.digest }), 'E_VULN_NOT_VERIFIED');
    assert.match(
      expectCode(() => gov.vulnerabilities.transition(v.id, 'verified', { evaluationDigest: oldPass.digest }), 'E_VULN_NOT_VERIFIED')
        .message,
      /before the vulnerability was filed/,
    );
    const otherThreat = gov.registry.put({
      kind: 'evaluation',
      name: 'eval-other',
      json: { robust: 0.9, other: true },
      meta: { passed: true, threats: { 'typo-2': { passed: true } } },
    });
    assert.match(
      expectCode(() => gov.vulnerabilities.transition(v.id, 'verified', { evaluationDigest: otherThreat.digest }), 'E_VULN_NOT_VERIFIED')
        .message,
      /did not evaluate threat 'linf-0.1'/,
    );
    const stillFailing = gov.registry.put({
      kind: 'evaluation',
      name: 'eval-2',
      json: { robust: 0.5 },
      meta: { passed: false, threats: { 'linf-0.1': { passed: false } } },
    });
    expectCode(() => gov.vulnerabilities.transition(v.id, 'verified', { evaluationDigest: stillFailing.digest }), 'E_VULN_NOT_VERIFIED');
    const model = gov.registry.list({ kind: 'model' })[0]!;
    expectCode(() => gov.vulnerabilities.transition(v.id, 'verified', { evaluationDigest: model.digest }), 'E_VULN_NOT_VERIFIED');
    assert.equal(gov.vulnerabilities.get(v.id).status, 'fixed');

    const passing = gov.registry.put({
      kind: 'evaluation',
      name: 'eval-3',
      json: { robust: 0.75 },
      meta: { passed: true, threats: { 'linf-0.1': { passed: true, attackSuccessRate: 0.25 } } },
    });
    const verified = gov.vulnerabilities.transition(v.id.toLowerCase(), 'verified', { evaluationDigest: passing.digest });
    assert.equal(verified.status, 'verified');
    assert.equal(verified.verifiedBy, passing.digest);
    assert.deepEqual(
      verified.history.map((h) => `${h.from}->${h.to}`),
      ['open->fixed', 'fixed->verified'],
    );
    assert.deepEqual(
      gov.vulnerabilities.list({ status: 'verified' }).map((x) => x.id),
      [v.id],
    );
    expectCode(() => gov.vulnerabilities.transition(v.id, 'fixed'), 'E_VULN_TRANSITION');
    expectCode(() => gov.vulnerabilities.get('VULN-9999'), 'E_VULN_NOT_FOUND');
  });

  test('a project template overrides the built-in one; unknown placeholders fail', () => {
    const dir = join(root, 'custom');
    const custom = openGovernance(dir, { actor: 'tester' });
    try {
      mkdirSync(join(dir, 'templates'), { recursive: true });
      writeFileSync(join(dir, 'templates', 'vulnerability.md'), 'Custom {{id}} for {{threatId}} ({{severity}})\n');
      const v = custom.vulnerabilities.file({
        threatId: 't',
        attack: 'a',
        evidence: { metric: 'm', measured: 1, required: 2 },
        severity: 'low',
        owner: 'o',
        remediation: 'r',
      });
      assert.equal(custom.vulnerabilities.report(v.id), 'Custom VULN-0001 for t (low)\n');
      writeFileSync(join(dir, 'templates', 'vulnerability.md'), '{{nope}}');
      expectCode(
        () =>
          custom.vulnerabilities.file({
            threatId: 't',
            attack: 'a',
            evidence: { metric: 'm', measured: 1, required: 2 },
            severity: 'low',
            owner: 'o',
            remediation: 'r',
          }),
        'E_VULN_TEMPLATE',
      );
      // The failed filing left nothing behind.
      assert.equal(custom.vulnerabilities.list().length, 1);
    } finally {
      custom.close();
    }
  });

  test('a state change and its audit entry commit together or not at all', () => {
    const before = gov.audit.list().length;
    const artifacts = gov.registry.list().length;
    assert.throws(
      () =>
        gov.transaction(() => {
          gov.registry.put({ kind: 'report', name: 'half', bytes: 'a report that will be rolled back' });
          gov.audit.append({ action: 'gate', subject: 'x', details: { passed: false } });
          throw new Error('crash after the writes');
        }),
      /crash after the writes/,
    );
    assert.equal(gov.audit.list().length, before);
    assert.equal(gov.registry.list().length, artifacts);
    const check = gov.check();
    assert.equal(check.ok, true, JSON.stringify(check));
    assert.ok(check.audit.entries > 20);
  });

  test('check() finds a blob changed on disk; reopening with mustExist fails on an empty folder', () => {
    const victim = gov.registry.put({ kind: 'dataset', name: 'victim', bytes: 'original bytes' });
    const path = join(gov.dir, 'objects', 'sha256', victim.digest.slice(0, 2), victim.digest.slice(2));
    writeFileSync(path, 'tampered bytes');
    const check = gov.check();
    assert.equal(check.ok, false);
    assert.deepEqual(
      check.artifacts.problems.map((p) => p.digest),
      [victim.digest],
    );
    expectCode(() => gov.registry.read(victim.digest), 'E_REGISTRY_CORRUPT');
    // Storing the same content again repairs the damaged blob instead of trusting it.
    assert.equal(gov.registry.put({ kind: 'dataset', name: 'victim', bytes: 'original bytes' }).existed, true);
    assert.equal(readFileSync(path, 'utf8'), 'original bytes');
    assert.equal(gov.check().ok, true);
    expectCode(() => openGovernance(join(root, 'nothing-here'), { mustExist: true }), 'E_REGISTRY_MISSING');
    // Temp files a killed writer left behind are swept when the store is next opened; fresh ones are not.
    const tmp = join(gov.dir, 'objects', 'tmp');
    writeFileSync(join(tmp, 'stale'), 'x');
    writeFileSync(join(tmp, 'fresh'), 'x');
    utimesSync(join(tmp, 'stale'), new Date(Date.now() - 2 * 3600_000), new Date(Date.now() - 2 * 3600_000));
    openGovernance(gov.dir).close();
    assert.deepEqual(readdirSync(tmp).sort(), ['fresh']);
    assert.equal(existsSync(join(root, 'nothing-here')), false);
  });
});

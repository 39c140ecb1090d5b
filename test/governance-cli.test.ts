/**
 * End-to-end: the real `rampart registry|risk|vuln|audit` commands in child processes on a
 * temp `.rampart/`. The pipeline's part (registering a plan, a model, evaluations, filing a
 * vulnerability) is done with the library, as the pipeline does it.
 */
import { before, after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { openGovernance } from '../src/governance/index.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const main = join(root, 'src/cli/main.ts');

describe('rampart governance commands', () => {
  let tmp: string;
  let dir: string;
  const d: Record<string, string> = {};

  function rampart(...args: string[]): { code: number; stdout: string; stderr: string } {
    const result = spawnSync(process.execPath, ['--import', 'tsx', main, ...args, '--dir', dir], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, RAMPART_ACTOR: 'cli-test' },
    });
    return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
  }

  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'rampart-gov-cli-'));
    dir = join(tmp, '.rampart');
    const modelDir = join(tmp, 'model');
    mkdirSync(modelDir);
    writeFileSync(join(modelDir, 'model.json'), '{"format":"layers-model"}');
    writeFileSync(join(modelDir, 'weights.bin'), Buffer.from([1, 2, 3, 4]));
    const gov = openGovernance(dir, { actor: 'pipeline' });
    const plan = gov.registry.put({ kind: 'plan', name: 'rampart.yaml', json: { threats: [{ id: 'linf-0.1' }] } });
    const model = gov.registry.put({ kind: 'model', name: 'mnist-mlp', path: modelDir, parents: [plan.digest] });
    const failing = gov.registry.put({
      kind: 'evaluation',
      name: 'eval-1',
      json: { robustAccuracy: 0.12 },
      meta: { passed: false, threats: { 'linf-0.1': { passed: false, attackSuccessRate: 0.88 } } },
      parents: [model.digest],
    });
    gov.risks.syncFromThreats([{ id: 'linf-0.1', likelihood: 4, impact: 5 }], { owner: 'ml-team' });
    gov.risks.recordMeasurement('linf-0.1', 0.88, { evaluationDigest: failing.digest });
    gov.vulnerabilities.file({
      threatId: 'linf-0.1',
      attack: 'pgd eps=0.1',
      evidence: { metric: 'robustAccuracy', measured: 0.12, required: '>= 0.7' },
      severity: 'critical',
      owner: 'ml-team',
      remediation: 'PGD-AT',
      evaluationDigest: failing.digest,
    });
    const passing = gov.registry.put({
      kind: 'evaluation',
      name: 'eval-2',
      json: { robustAccuracy: 0.74 },
      meta: { passed: true, threats: { 'linf-0.1': { passed: true, attackSuccessRate: 0.26 } } },
      parents: [model.digest],
    });
    Object.assign(d, { plan: plan.digest, model: model.digest, failing: failing.digest, passing: passing.digest });
    gov.close();
  });

  after(() => rmSync(tmp, { recursive: true, force: true }));

  test('registry promote, diff and lineage', () => {
    const promote = rampart('registry', 'promote', d.model!.slice(0, 8), '--reason', 'gate passed');
    assert.equal(promote.code, 0, promote.stderr);
    assert.match(promote.stdout, new RegExp(`promoted model mnist-mlp \\(${d.model!.slice(0, 12)}\\) to 'production'`));

    const diff = rampart('registry', 'diff', d.failing!.slice(0, 10), d.passing!.slice(0, 10));
    assert.equal(diff.code, 0, diff.stderr);
    assert.match(diff.stdout, /meta\.passed\s+false\s+true/);
    assert.match(diff.stdout, /robustAccuracy\s+0\.12\s+0\.74\s+\+0\.62/);

    const lineage = rampart('registry', 'lineage', 'production');
    assert.equal(lineage.code, 0, lineage.stderr);
    assert.match(lineage.stdout, new RegExp(`<- ${d.plan!.slice(0, 12)} plan rampart.yaml`));
    assert.match(lineage.stdout, /-> [0-9a-f]{12} evaluation eval-1/);
    assert.match(lineage.stdout, /-> [0-9a-f]{12} vulnerability VULN-0001/);
  });

  test('risk update and ls show the residual from the measured attack success', () => {
    const update = rampart('risk', 'update', 'linf-0.1', '--status', 'mitigated', '--reason', 'adversarial training');
    assert.equal(update.code, 0, update.stderr);
    // 4 x 5 x 0.88 = 17.6: high.
    assert.match(update.stdout, /updated RISK-0001: residual 17\.6 \(high\), status mitigated/);
  });

  test('vuln transition verified: refused for the failing evaluation, accepted for a passing re-evaluation', () => {
    // Each CLI call costs seconds, so 'fixed' is done through the library the commands wrap.
    const gov = openGovernance(dir, { actor: 'dev' });
    gov.vulnerabilities.transition('VULN-0001', 'fixed', { note: 'retrained' });
    gov.close();
    const refused = rampart('vuln', 'transition', 'VULN-0001', 'verified', '--evaluation', d.failing!.slice(0, 12));
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /E_VULN_NOT_VERIFIED: .*the failing evaluation the vulnerability was filed from/);
    const verified = rampart('vuln', 'transition', 'VULN-0001', 'verified', '--evaluation', d.passing!.slice(0, 12), '--json');
    assert.equal(verified.code, 0, verified.stderr);
    const v = JSON.parse(verified.stdout) as { status: string; verifiedBy: string; history: unknown[] };
    assert.equal(v.status, 'verified');
    assert.equal(v.verifiedBy, d.passing);
    assert.equal(v.history.length, 2);
  });

  test('audit verify passes, then exits 1 after an entry is edited in the database file', () => {
    const ok = rampart('audit', 'verify');
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /audit chain ok: \d+ entries/);
    const db = new Database(join(dir, 'rampart.db'));
    db.prepare("UPDATE audit_log SET actor = 'nobody' WHERE action = 'promote'").run();
    db.close();
    const broken = rampart('audit', 'verify', '--json');
    assert.equal(broken.code, 1);
    const result = JSON.parse(broken.stdout) as { ok: boolean; firstBad: { seq: number; reason: string } };
    assert.equal(result.ok, false);
    assert.match(result.firstBad.reason, /promote production.*edited/);
    assert.match(broken.stderr, /E_AUDIT_CHAIN_BROKEN/);
  });
});

/**
 * Security: the tag that decides what is served is tied to the audit chain, and tag moves
 * are compare-and-set. Real SQLite files; `registry verify` through the real CLI.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { openGovernance } from '../../src/governance/index.js';
import { expectCode } from '../registry-errors.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const main = join(root, 'src/cli/main.ts');

function rampart(dir: string, ...args: string[]): { code: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', main, ...args, '--dir', dir], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, RAMPART_ACTOR: 'security-test' },
    timeout: 60_000,
  });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

describe('registry tags against the audit chain', () => {
  let tmp: string;
  const d = { baseline: '', hardened: '' };

  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'rampart-sec-tags-'));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  /** A registry with `production` promoted baseline -> hardened. */
  function seeded(name: string): string {
    const dir = join(tmp, name, '.rampart');
    const gov = openGovernance(dir, { actor: 'pipeline' });
    d.baseline = gov.registry.put({ kind: 'model', name: 'baseline', bytes: 'baseline weights' }).digest;
    d.hardened = gov.registry.put({ kind: 'model', name: 'hardened', bytes: 'hardened weights' }).digest;
    gov.registry.promote(d.baseline, 'production', { reason: 'first release' });
    gov.registry.promote(d.hardened, 'production', { reason: 'gate passed' });
    gov.close();
    return dir;
  }

  test('a raw SQL UPDATE of production fails `rampart registry verify`', () => {
    const dir = seeded('raw-update');
    const clean = rampart(dir, 'registry', 'verify');
    assert.equal(clean.code, 0, clean.stderr);
    assert.match(clean.stdout, /tags checked: 1, not matching the audit log: 0/);

    const db = new Database(join(dir, 'rampart.db'));
    db.prepare("UPDATE tags SET digest = ? WHERE tag = 'production'").run(d.baseline);
    db.close();

    const tampered = rampart(dir, 'registry', 'verify');
    assert.equal(tampered.code, 1, tampered.stdout);
    assert.match(tampered.stdout, /tag 'production' points at [0-9a-f]{12} but its last audited move \(entry \d+\) set it to [0-9a-f]{12}/);
    assert.match(tampered.stderr, /E_REGISTRY_CORRUPT: .*failed its checks \(tags\)/);
  });

  test('a forged history row (tags and tag_events edited together) is caught too', () => {
    const dir = seeded('forged-history');
    const db = new Database(join(dir, 'rampart.db'));
    db.prepare(
      "INSERT INTO tag_events (tag, digest, previous_digest, action, reason, actor, at) VALUES ('production', ?, ?, 'rollback', 'x', 'mallory', 'now')",
    ).run(d.baseline, d.hardened);
    db.prepare("UPDATE tags SET digest = ? WHERE tag = 'production'").run(d.baseline);
    db.close();
    const gov = openGovernance(dir, { mustExist: true });
    try {
      const check = gov.check();
      assert.equal(check.ok, false);
      assert.ok(
        check.tags.problems.some((p) => /3 history rows but the audit log records 2 moves/.test(p.reason)),
        JSON.stringify(check.tags),
      );
      // The audit chain itself is intact: the tag check is what catches this.
      assert.equal(check.audit.ok, true);
    } finally {
      gov.close();
    }
  });

  test('moveTag is compare-and-set: a stale `from` is refused with E_REGISTRY_TAG_MOVED', () => {
    const dir = seeded('cas');
    // Two handles on one registry stand for two replicas.
    const a = openGovernance(dir, { actor: 'replica-a' });
    const b = openGovernance(dir, { actor: 'replica-b' });
    try {
      const seen = a.registry.resolveTag('production') as string;
      assert.equal(seen, d.hardened);
      b.registry.rollback('production', { reason: 'operator rollback' });
      const err = expectCode(
        () => a.registry.moveTag('production', { from: seen, to: d.baseline, reason: 'auto', action: 'rollback' }),
        'E_REGISTRY_TAG_MOVED',
      );
      assert.deepEqual(err.details, { tag: 'production', expected: d.hardened, actual: d.baseline });
      // rollback and promote take the same guard.
      expectCode(() => a.registry.rollback('production', { reason: 'auto', from: seen, to: d.hardened }), 'E_REGISTRY_TAG_MOVED');
      expectCode(() => a.registry.promote(d.hardened, 'production', { reason: 'again', from: seen }), 'E_REGISTRY_TAG_MOVED');
      // A move from what the tag really points at goes through, with the given actor on the audit entry.
      const event = a.registry.moveTag('production', {
        from: d.baseline,
        to: d.hardened,
        reason: 'canary ok',
        action: 'promote',
        actor: 'serve:key-7',
      });
      assert.equal(event.actor, 'serve:key-7');
      assert.equal(a.audit.list({ subject: 'production' }).at(-1)?.actor, 'serve:key-7');
      // `from: null` means "the tag must be unset".
      expectCode(() => a.registry.moveTag('production', { from: null, to: d.baseline }), 'E_REGISTRY_TAG_MOVED');
      a.registry.moveTag('candidate', { from: null, to: d.baseline });
      assert.equal(a.check().ok, true);
    } finally {
      a.close();
      b.close();
    }
  });

  test('`registry promote --expect` refuses when the tag moved', () => {
    const dir = seeded('cas-cli');
    const refused = rampart(dir, 'registry', 'promote', d.baseline.slice(0, 12), '--reason', 'stale', '--expect', d.baseline);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /E_REGISTRY_TAG_MOVED: Tag 'production' no longer points at [0-9a-f]{12}/);
  });
});

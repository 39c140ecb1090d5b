/**
 * The audit chain against an attacker with write access to the SQLite file: entries are
 * edited, deleted and reordered with plain SQL, and `verify()` must name the first bad one.
 */
import { beforeEach, afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { canonicalJson, openGovernance, sha256Hex } from '../src/governance/index.js';

const GENESIS = '0'.repeat(64);

describe('audit chain tamper detection', () => {
  let root: string;
  let dir: string;

  /** Six entries from real operations: registrations, a promotion, a risk and its update. */
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'rampart-audit-'));
    dir = join(root, '.rampart');
    const gov = openGovernance(dir, { actor: 'ci' });
    const plan = gov.registry.put({ kind: 'plan', name: 'plan', json: { threats: ['linf-0.1'] } });
    const model = gov.registry.put({ kind: 'model', name: 'model', bytes: 'weights', parents: [plan.digest] });
    gov.registry.promote(model.digest, 'production', { reason: 'gate passed' });
    const risk = gov.risks.add({ threatId: 'linf-0.1', title: 'L-inf', likelihood: 3, impact: 4, owner: 'ml' });
    gov.risks.update(risk.id, { status: 'mitigated' });
    gov.audit.append({ action: 'gate', subject: model.digest, details: { passed: true } });
    assert.deepEqual(gov.audit.verify().entries, 6);
    gov.close();
  });

  afterEach(() => rmSync(root, { recursive: true, force: true }));

  /** Tampers as an attacker would: straight SQL on the database file, no Rampart code. */
  function tamper(sql: (db: Database.Database) => void): void {
    const db = new Database(join(dir, 'rampart.db'));
    sql(db);
    db.close();
  }

  function verify(options?: { expectHead?: string }): ReturnType<ReturnType<typeof openGovernance>['audit']['verify']> {
    const gov = openGovernance(dir, { actor: 'auditor' });
    try {
      return gov.audit.verify(options);
    } finally {
      gov.close();
    }
  }

  test('an untouched chain verifies', () => {
    const r = verify();
    assert.equal(r.ok, true);
    assert.equal(r.entries, 6);
    assert.match(r.head ?? '', /^[0-9a-f]{64}$/);
  });

  test('an edited entry is caught at that entry', () => {
    tamper((db) => db.prepare('UPDATE audit_log SET details = ? WHERE seq = 3').run('{"reason":"nobody asked"}'));
    const r = verify();
    assert.equal(r.ok, false);
    assert.equal(r.firstBad?.seq, 3);
    assert.match(r.firstBad?.reason ?? '', /edited/);
  });

  test('an edit that also recomputes its own hash breaks the next link', () => {
    tamper((db) => {
      const row = db.prepare('SELECT * FROM audit_log WHERE seq = 2').get() as Record<string, string | number>;
      const actor = 'someone-else';
      const body = canonicalJson({
        seq: 2,
        at: row.at,
        actor,
        action: row.action,
        subject: row.subject,
        details: JSON.parse(String(row.details)),
      });
      db.prepare('UPDATE audit_log SET actor = ?, hash = ? WHERE seq = 2').run(actor, sha256Hex(`${row.prev_hash}\n${body}`));
    });
    const r = verify();
    assert.equal(r.ok, false);
    assert.equal(r.firstBad?.seq, 3);
    assert.match(r.firstBad?.reason ?? '', /does not chain/);
  });

  test('a deleted entry is caught', () => {
    tamper((db) => db.prepare('DELETE FROM audit_log WHERE seq = 4').run());
    const r = verify();
    assert.equal(r.ok, false);
    assert.equal(r.firstBad?.seq, 4);
    assert.match(r.firstBad?.reason ?? '', /missing/);
  });

  test('deleting the newest entry is caught by the recorded head', () => {
    tamper((db) => db.prepare('DELETE FROM audit_log WHERE seq = 6').run());
    const r = verify();
    assert.equal(r.ok, false);
    assert.match(r.firstBad?.reason ?? '', /removed from the end/);
  });

  test('deleting and renumbering the rest is caught', () => {
    tamper((db) => {
      db.prepare('DELETE FROM audit_log WHERE seq = 2').run();
      db.prepare('UPDATE audit_log SET seq = seq - 1 WHERE seq > 2').run();
    });
    const r = verify();
    assert.equal(r.ok, false);
    assert.equal(r.firstBad?.seq, 2);
  });

  test('two swapped entries are caught', () => {
    tamper((db) => {
      const rows = db.prepare('SELECT * FROM audit_log WHERE seq IN (3, 4) ORDER BY seq').all() as Array<Record<string, unknown>>;
      const update = db.prepare(
        'UPDATE audit_log SET at = @at, actor = @actor, action = @action, subject = @subject, details = @details, prev_hash = @prev_hash, hash = @hash WHERE seq = @seq',
      );
      db.transaction(() => {
        update.run({ ...rows[1], seq: 3 });
        update.run({ ...rows[0], seq: 4 });
      })();
    });
    const r = verify();
    assert.equal(r.ok, false);
    assert.equal(r.firstBad?.seq, 3);
    assert.match(r.firstBad?.reason ?? '', /reordered/);
  });

  test('a chain rewritten from scratch passes alone but not against a head kept elsewhere', () => {
    const anchored = verify().head!;
    tamper((db) => {
      // The attacker drops the promotion and re-hashes everything, head included.
      const rows = db.prepare('SELECT * FROM audit_log WHERE seq <> 3 ORDER BY seq').all() as Array<Record<string, string | number>>;
      db.prepare('DELETE FROM audit_log').run();
      let prev = GENESIS;
      rows.forEach((row, i) => {
        const seq = i + 1;
        const hash = sha256Hex(
          `${prev}\n${canonicalJson({ seq, at: row.at, actor: row.actor, action: row.action, subject: row.subject, details: JSON.parse(String(row.details)) })}`,
        );
        db.prepare('INSERT INTO audit_log (seq, at, actor, action, subject, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(
          seq,
          row.at,
          row.actor,
          row.action,
          row.subject,
          row.details,
          prev,
          hash,
        );
        prev = hash;
      });
      db.prepare("UPDATE meta SET value = ? WHERE key = 'audit.head'").run(`${rows.length}:${prev}`);
    });
    assert.equal(verify().ok, true);
    const r = verify({ expectHead: anchored });
    assert.equal(r.ok, false);
    assert.match(r.firstBad?.reason ?? '', /does not contain the expected head/);
  });

  test('new entries after an anchored head still verify against it', () => {
    const anchored = verify().head!;
    const gov = openGovernance(dir, { actor: 'ci' });
    gov.audit.append({ action: 'evaluate', subject: 'x', details: {} });
    gov.close();
    assert.equal(verify({ expectHead: anchored }).ok, true);
  });
});

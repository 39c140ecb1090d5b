/**
 * Security: the audit head is signed with an Ed25519 key kept outside `.rampart/`, so a
 * chain rewritten whole (every hash recomputed) no longer passes `rampart audit verify`.
 * Real SQLite files and real CLI child processes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { auditHash, GENESIS_HASH } from '../../src/governance/audit.js';
import { openGovernance } from '../../src/governance/index.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const main = join(root, 'src/cli/main.ts');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Recomputes every hash after an edit, as an attacker with write access to the database would. */
function rewriteChain(file: string, edit: (db: Database.Database) => void): void {
  const db = new Database(file);
  edit(db);
  let prev = GENESIS_HASH;
  const rows = db.prepare('SELECT * FROM audit_log ORDER BY seq').all() as Array<Record<string, string | number>>;
  for (const r of rows) {
    const hash = auditHash(
      {
        seq: r.seq as number,
        at: r.at as string,
        actor: r.actor as string,
        action: r.action as string,
        subject: r.subject as string,
        details: JSON.parse(r.details as string),
      },
      prev,
    );
    db.prepare('UPDATE audit_log SET prev_hash = ?, hash = ? WHERE seq = ?').run(prev, hash, r.seq);
    prev = hash;
  }
  db.prepare("UPDATE meta SET value = ? WHERE key = 'audit.head'").run(`${rows.length}:${prev}`);
  db.close();
}

describe('signed audit head', () => {
  let tmp: string;
  let dir: string;
  let key: string;
  const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => {
    const e: NodeJS.ProcessEnv = { ...process.env, RAMPART_ACTOR: 'security-test', HOME: tmp };
    delete e.RAMPART_AUDIT_KEY;
    delete e.RAMPART_AUDIT_PUBLIC_KEY;
    return { ...e, ...extra };
  };
  const rampart = (args: string[], extra: Record<string, string> = {}): Run => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', main, ...args], {
      cwd: root,
      encoding: 'utf8',
      env: env(extra),
      timeout: 60_000,
    });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  };

  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'rampart-sec-sign-'));
    dir = join(tmp, '.rampart');
    key = join(tmp, 'keys', 'audit.pem');
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  test('keygen writes a 0600 private key and a public key; it refuses to replace a key', () => {
    const made = rampart(['audit', 'keygen', '--key', key]);
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stdout, /created audit signing key [0-9a-f]{16}/);
    assert.equal(statSync(key).mode & 0o777, 0o600);
    assert.equal(statSync(join(tmp, 'keys')).mode & 0o777, 0o700);
    assert.match(readFileSync(`${key}.pub`, 'utf8'), /BEGIN PUBLIC KEY/);
    const again = rampart(['audit', 'keygen', '--key', key]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /E_AUDIT_KEY_EXISTS/);
    // The default place is under the home directory, not inside the registry.
    const byDefault = rampart(['audit', 'keygen']);
    assert.equal(byDefault.code, 0, byDefault.stderr);
    assert.equal(statSync(join(tmp, '.rampart', 'audit-ed25519.pem')).mode & 0o777, 0o600);
    rmSync(join(tmp, '.rampart'), { recursive: true });
  });

  test('writes signed with the key verify with the public key alone; a rewritten chain does not', () => {
    const gov = openGovernance(dir, { actor: 'pipeline', signingKey: key });
    const model = gov.registry.put({ kind: 'model', name: 'hardened', bytes: 'weights' });
    gov.registry.promote(model.digest, 'production', { reason: 'gate passed' });
    gov.close();

    const ok = rampart(['audit', 'verify', '--dir', dir, '--public-key', `${key}.pub`]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /signed head: entry 2 [0-9a-f]{16}, key [0-9a-f]{16} \(verified with the given public key\)/);

    // The attacker edits the promotion's reason and recomputes the whole chain and its head.
    rewriteChain(join(dir, 'rampart.db'), (db) => {
      db.prepare("UPDATE audit_log SET details = replace(details, 'gate passed', 'gate skipped') WHERE action = 'promote'").run();
    });
    const rewritten = rampart(['audit', 'verify', '--dir', dir, '--public-key', `${key}.pub`]);
    assert.equal(rewritten.code, 1, rewritten.stdout);
    assert.match(rewritten.stderr, /E_AUDIT_CHAIN_BROKEN: .*the signed head names entry 2 .* the chain was rewritten/);
    // Without the public key the stored signature still catches it.
    const untrusted = rampart(['audit', 'verify', '--dir', dir]);
    assert.equal(untrusted.code, 1);
    // Removing the signature does not help when the verifier holds the public key.
    const db = new Database(join(dir, 'rampart.db'));
    db.prepare("DELETE FROM meta WHERE key = 'audit.head.signed'").run();
    db.close();
    const unsigned = rampart(['audit', 'verify', '--dir', dir], { RAMPART_AUDIT_PUBLIC_KEY: `${key}.pub` });
    assert.equal(unsigned.code, 1);
    assert.match(unsigned.stderr, /the audit head is not signed, but a public key .* was given/);
    const registryVerify = rampart(['registry', 'verify', '--dir', dir, '--public-key', `${key}.pub`]);
    assert.equal(registryVerify.code, 1);
  });

  test('entries appended without the key fail a trusted verify until `audit sign` signs the head again', () => {
    const fresh = join(tmp, 'second', '.rampart');
    const gov = openGovernance(fresh, { actor: 'pipeline', signingKey: key });
    gov.registry.put({ kind: 'plan', name: 'plan', json: { a: 1 } });
    gov.close();
    const unsignedWriter = openGovernance(fresh, { actor: 'someone' });
    unsignedWriter.registry.put({ kind: 'plan', name: 'plan', json: { a: 2 } });
    unsignedWriter.close();
    const tail = rampart(['audit', 'verify', '--dir', fresh, '--public-key', `${key}.pub`]);
    assert.equal(tail.code, 1);
    assert.match(tail.stderr, /entries 2–2 were appended without the signing key/);
    const signed = rampart(['audit', 'sign', '--dir', fresh, '--signing-key', key]);
    assert.equal(signed.code, 0, signed.stderr);
    assert.match(signed.stdout, /signed head: entry 2/);
    const gov2 = openGovernance(fresh, { mustExist: true });
    try {
      const result = gov2.audit.verify();
      assert.equal(result.ok, true);
      assert.equal(result.signed?.seq, 2);
      assert.equal(result.signed?.trusted, false);
    } finally {
      gov2.close();
    }
  });

  test('a signing key others can read is refused', () => {
    const loose = join(tmp, 'loose.pem');
    const made = rampart(['audit', 'keygen', '--key', loose]);
    assert.equal(made.code, 0, made.stderr);
    spawnSync('chmod', ['644', loose]);
    const refused = rampart(['audit', 'sign', '--dir', dir, '--signing-key', loose]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /E_AUDIT_KEY_PERMISSIONS: .*chmod 600/);
  });
});

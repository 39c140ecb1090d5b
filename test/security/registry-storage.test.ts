/**
 * Security: faults of the registry's own storage are coded, 5xx-class errors whose messages
 * name no absolute path (they can reach HTTP clients), and a damaged `rampart.db` is a clear
 * coded error from the CLI, not an SQLite stack trace.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RegistryError, httpStatusFor } from '../../src/core/errors.js';
import { openGovernance } from '../../src/governance/index.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const main = join(root, 'src/cli/main.ts');

function caught(fn: () => unknown): RegistryError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof RegistryError, `expected a RegistryError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected an error');
}

describe('registry storage faults', () => {
  let tmp: string;
  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'rampart-sec-storage-'));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  test('a corrupt rampart.db is E_REGISTRY_DB_CORRUPT from the CLI, without a stack trace', () => {
    const dir = join(tmp, 'corrupt', '.rampart');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'rampart.db'), Buffer.alloc(8192, 0x5a));
    const r = spawnSync(process.execPath, ['--import', 'tsx', main, 'registry', 'ls', '--dir', dir], {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.status, 1, r.stderr);
    assert.match(
      r.stderr,
      /^rampart: error E_REGISTRY_DB_CORRUPT: The registry database .*rampart\.db is damaged .*restore it from a backup/,
    );
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    assert.doesNotMatch(r.stderr, /unexpected error|SqliteError/);
  });

  test('a missing or damaged blob is a 5xx-class coded error naming no absolute path', () => {
    const gov = openGovernance(join(tmp, 'blobs', '.rampart'), { actor: 'test' });
    try {
      const a = gov.registry.put({ kind: 'dataset', name: 'a', bytes: 'some bytes' });
      const b = gov.registry.put({ kind: 'dataset', name: 'b', bytes: 'other bytes' });
      unlinkSync(join(gov.dir, 'objects', 'sha256', a.digest.slice(0, 2), a.digest.slice(2)));
      writeFileSync(join(gov.dir, 'objects', 'sha256', b.digest.slice(0, 2), b.digest.slice(2)), 'tampered');
      for (const digest of [a.digest, b.digest]) {
        const error = caught(() => gov.registry.read(digest));
        assert.equal(error.code, 'E_REGISTRY_CORRUPT');
        // The server answers with the status from this table and the message as written.
        assert.equal(httpStatusFor(error), 500);
        assert.ok(!JSON.stringify({ message: error.message, details: error.details }).includes(tmp), error.message);
        assert.match(error.message, /objects\/sha256\/[0-9a-f]{2}\/[0-9a-f]+/);
      }
      // A write the disk refuses (here: a file where a folder must go) is a coded 5xx fault too.
      const model = gov.registry.put({ kind: 'model', name: 'm', json: { w: [1, 2] } });
      writeFileSync(join(tmp, 'blocker'), 'a file');
      const refused = caught(() => gov.registry.materialize(model.digest, join(tmp, 'blocker', 'model.json')));
      assert.equal(refused.code, 'E_REGISTRY_WRITE');
      assert.equal(httpStatusFor(refused), 500);
      assert.ok(!refused.message.includes(tmp), refused.message);
      // Not-found is the caller's mistake (4xx) but still names no absolute path.
      const missing = caught(() => gov.registry.get('abcdef12'));
      assert.equal(missing.code, 'E_REGISTRY_NOT_FOUND');
      assert.equal(httpStatusFor(missing), 404);
      assert.ok(!JSON.stringify({ message: missing.message, details: missing.details }).includes(tmp), missing.message);
    } finally {
      gov.close();
    }
  });
});

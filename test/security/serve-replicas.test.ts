/**
 * Issue 20, the tag and the live model (faults: a second replica on the same registry kept
 * serving the old model after a rollback; rollback moved the tag without checking it still
 * pointed where it did; a rollback whose audit write failed left the live model and its
 * source disagreeing, answered 500 and leaked the model). Replicas are real `rampart serve`
 * processes on one registry; the compare-and-set and the leak are checked in process on a
 * real registry and real models.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { RampartError } from '../../src/core/errors.js';
import { openGovernance } from '../../src/governance/index.js';
import { buildServer } from '../../src/serve/app.js';
import { directorySource, registrySource } from '../../src/serve/model-source.js';
import { call, eventually, key, saveGood, saveUntrained, startServe, type ServeProcess } from './serve-process.js';

describe('replicas, compare-and-set and audit failures (rampart serve)', () => {
  let dir: string;
  const servers: ServeProcess[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rampart-sec-replicas-'));
    await saveGood(join(dir, 'good'));
    await saveUntrained(join(dir, 'bad'), 99, false);
  });

  after(() => servers.forEach((s) => s.kill()));

  test('a rollback on one replica is followed by the other within the poll interval', async () => {
    const gov = openGovernance(join(dir, 'registry'), { actor: 'test' });
    const good = gov.registry.put({ kind: 'model', name: 'good', path: join(dir, 'good') });
    const bad = gov.registry.put({ kind: 'model', name: 'bad', path: join(dir, 'bad') });
    gov.registry.promote(good.digest, 'production', { reason: 'first release' });
    gov.registry.promote(bad.digest, 'production', { reason: 'second release' });
    gov.close();
    const file = join(dir, 'keys.json');
    const admin = await key(file, 'admin');
    await writeFile(join(dir, 'replica.yaml'), 'layers: { ood: false }\ncanary: false\nrollback: false\nwatch: { pollMs: 300 }\n');
    const args = [
      '--registry',
      join(dir, 'registry'),
      '--tag',
      'production',
      '--keys',
      file,
      '--config',
      join(dir, 'replica.yaml'),
      '--log-level',
      'warn',
    ];
    const a = await startServe(args);
    servers.push(a);
    const b = await startServe(args);
    servers.push(b);
    const model = async (s: ServeProcess): Promise<string> => (await call(`${s.url}/v1/admin/status`, { key: admin })).body.model as string;
    assert.equal(await model(b), `mlp@${bad.digest.slice(0, 12)}`);
    const rolled = await call(`${a.url}/v1/admin/rollback`, { key: admin, body: { reason: 'replica drill' } });
    assert.equal(rolled.status, 200, JSON.stringify(rolled.body));
    const start = Date.now();
    assert.ok(
      await eventually(async () => (await model(b)) === `mlp@${good.digest.slice(0, 12)}`, 5000),
      `replica still on ${await model(b)}: ${b.stderr().slice(-1500)}`,
    );
    assert.ok(Date.now() - start < 5000);
  });

  test('a staged tag move is refused when the tag moved meanwhile (compare-and-set)', async () => {
    const gov = openGovernance(join(dir, 'cas'), { actor: 'test' });
    const good = gov.registry.put({ kind: 'model', name: 'good', path: join(dir, 'good') });
    const bad = gov.registry.put({ kind: 'model', name: 'bad', path: join(dir, 'bad') });
    gov.registry.promote(good.digest, 'production', { reason: 'first release' });
    gov.registry.promote(bad.digest, 'production', { reason: 'second release' });
    const source = registrySource({ governance: gov, tag: 'production' });
    const staged = await source.rollback('stale decision');
    assert.ok(staged);
    // Another server (or the CLI) moves the tag before this one records its move.
    gov.registry.rollback('production', { reason: 'someone else' });
    await assert.rejects(
      () => staged.commit(),
      (e: unknown) => e instanceof RampartError && e.code === 'E_REGISTRY_TAG_MOVED',
    );
    staged.model.dispose();
    assert.equal(gov.registry.resolveTag('production'), good.digest);
    assert.equal(gov.registry.tagHistory('production').length, 3);
    gov.close();
  });

  test('a rollback whose audit write fails is not made: model and source agree (child process)', async () => {
    const file = join(dir, 'keys-audit.json');
    const admin = await key(file, 'admin');
    // A directory where the audit log file should be: every append fails.
    const auditLog = join(dir, 'audit-is-a-directory');
    await mkdir(auditLog);
    await writeFile(join(dir, 'audit.yaml'), 'layers: { ood: false }\ncanary: false\nrollback: false\n');
    const server = await startServe([
      '--model',
      join(dir, 'good'),
      '--fallback',
      join(dir, 'bad'),
      '--audit-log',
      auditLog,
      '--keys',
      file,
      '--config',
      join(dir, 'audit.yaml'),
      '--log-level',
      'warn',
    ]);
    servers.push(server);
    const res = await call(`${server.url}/v1/admin/rollback`, { key: admin, body: { reason: 'audit down' } });
    assert.equal(res.status, 500);
    assert.equal(res.body.error.code, 'E_AUDIT_FAILED');
    const status = (await call(`${server.url}/v1/admin/status`, { key: admin })).body;
    assert.match(status.model, /good$/);
    assert.equal(status.source, `directory ${join(dir, 'good')}`);
    assert.equal(status.previous, join(dir, 'bad'));
  });

  test('a rollback whose audit write fails leaks no tensors (in process)', async () => {
    const auditLog = join(dir, 'audit-is-a-directory');
    const app = await buildServer({
      source: directorySource({ dir: join(dir, 'good'), fallbacks: [join(dir, 'bad')], auditLog }),
      config: { layers: { ood: false }, canary: false },
      timers: false,
    });
    try {
      const before = tf.memory().numTensors;
      await assert.rejects(
        () => app.rampart.rollback('audit down', 'manual'),
        (e: unknown) => e instanceof RampartError && e.code === 'E_AUDIT_FAILED',
      );
      assert.equal(tf.memory().numTensors, before);
      assert.match(app.rampart.holder.current.view.id, /good$/);
    } finally {
      await app.close();
    }
  });
});

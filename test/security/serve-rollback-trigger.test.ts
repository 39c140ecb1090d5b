/**
 * Issue 20, automated rollback (fault: a predict-role client rolled production back: 80
 * uniform-noise images drove the per-request anomaly rate to 0.75 and the server swapped
 * the good model for the baseline; repeating it walked back through the history; a batch
 * client sending real digits 64 per request did the same). Against a real `rampart serve`:
 * noise from one client or from many, and ordinary batches, roll nothing back (the previous
 * model is judged on the same traffic and is no better), and a second automatic rollback
 * inside the operator window is not made.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRng } from '../../src/core/rng.js';
import { smallMnist } from '../fixtures.js';
import { call, digit, eventually, key, saveGood, saveUntrained, startServe, type ServeProcess } from './serve-process.js';

describe('automated rollback cannot be triggered by clients (rampart serve)', () => {
  let dir: string;
  const servers: ServeProcess[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rampart-sec-rollback-'));
    await saveGood(join(dir, 'good'));
    await saveUntrained(join(dir, 'bad'), 99);
    await saveUntrained(join(dir, 'bad2'), 98);
  });

  after(() => servers.forEach((s) => s.kill()));

  test('noise floods from one client or many, and 64-digit batches, do not roll the good model back', async () => {
    const file = join(dir, 'keys-flood.json');
    const operator = await key(file, 'operator');
    const clients = [];
    for (let i = 0; i < 7; i++) clients.push(await key(file, 'predict'));
    await writeFile(join(dir, 'flood.yaml'), 'layers:\n  ood: { fitLimit: 300 }\ncanary: false\nrollback: { checkIntervalMs: 200 }\n');
    const server = await startServe([
      '--model',
      join(dir, 'good'),
      '--fallback',
      join(dir, 'bad'),
      '--keys',
      file,
      '--config',
      join(dir, 'flood.yaml'),
      '--log-level',
      'warn',
    ]);
    servers.push(server);
    const rng = createRng(20);
    const noise = (): number[] => Array.from({ length: 784 }, () => rng.next());
    // One client, 80 noise images one per request (the probe).
    for (let i = 0; i < 80; i++) await call(`${server.url}/v1/predict`, { key: clients[0], body: { inputs: [noise()] } });
    // Six more clients flooding noise: enough distinct clients for the rate to count.
    for (const k of clients.slice(1))
      await call(`${server.url}/v1/predict`, { key: k, body: { inputs: Array.from({ length: 10 }, noise) } });
    // A batch client: real digits, 64 per request.
    for (let r = 0; r < 3; r++) {
      const res = await call(`${server.url}/v1/predict`, {
        key: operator,
        body: { inputs: Array.from({ length: 64 }, (_, i) => digit((r * 64 + i) % 200)) },
      });
      assert.equal(res.status, 200);
    }
    // The rate breached with many clients, so the rollback was considered, and refused: the baseline flags the same noise.
    assert.ok(await eventually(async () => server.stderr().includes('"event":"rollback-refused"'), 8000), server.stderr().slice(-2000));
    const status = await call(`${server.url}/v1/admin/status`, { key: operator });
    assert.match(status.body.model, /good$/, 'the good model is still live');
    assert.match(status.body.source, /good$/);
    const metrics = await call(`${server.url}/metrics`, { key: operator });
    assert.equal(metrics.status, 200);
    assert.doesNotMatch(String(metrics.body), /rampart_rollbacks_total\{/);
  });

  test('a second automatic rollback inside the operator window is not made; an operator can still roll back', async () => {
    const { test: testSet } = smallMnist();
    const n = 32;
    // Four probes carry a wrong label, so no model scores above 28/32 and the good one breaches 0.95 too.
    await writeFile(
      join(dir, 'probes.json'),
      JSON.stringify({
        adversarialShape: [n, 28, 28, 1],
        adversarial: Array.from(testSet.x.subarray(0, n * 784)),
        examples: Array.from(testSet.y.subarray(0, n), (y, i) => ({ label: i < 4 ? (y + 1) % 10 : y })),
      }),
    );
    const file = join(dir, 'keys-window.json');
    const operator = await key(file, 'operator');
    const admin = await key(file, 'admin');
    // Canary levels that the good model also breaches, so the canary fires a second time once it re-arms.
    await writeFile(
      join(dir, 'window.yaml'),
      'layers: { ood: false }\ncanary: { intervalMs: 0 }\nrollback: { canary: { below: 0.95, rearmAbove: 0.5 }, anomaly: false, consecutive: 1, cooldownMs: 0, checkIntervalMs: 0 }\n',
    );
    const args = [
      '--model',
      join(dir, 'bad'),
      '--fallback',
      join(dir, 'good'),
      '--fallback',
      join(dir, 'bad2'),
      '--probes',
      join(dir, 'probes.json'),
      '--keys',
      file,
    ];
    const server = await startServe([...args, '--config', join(dir, 'window.yaml'), '--log-level', 'warn']);
    servers.push(server);
    const model = async (): Promise<string> => (await call(`${server.url}/v1/admin/status`, { key: operator })).body.model as string;
    // The startup canary run finds the untrained model below the level; the good fallback does better: first rollback.
    assert.ok(await eventually(async () => /good$/.test(await model()), 8000), server.stderr().slice(-2000));
    const rearm = await call(`${server.url}/v1/admin/canary`, { key: operator, method: 'POST' });
    assert.equal(rearm.status, 200);
    const breach = await call(`${server.url}/v1/admin/canary`, { key: operator, method: 'POST' });
    assert.ok(breach.body.accuracy < 0.95, `good model canary ${breach.body.accuracy}`);
    assert.match(await model(), /good$/, 'the second automatic rollback waits for an operator');
    assert.ok(await eventually(async () => server.stderr().includes('rollback-needs-operator'), 3000), server.stderr().slice(-2000));
    assert.equal((await call(`${server.url}/v1/admin/status`, { key: operator })).body.rollback.needsOperator, true);
    const manual = await call(`${server.url}/v1/admin/rollback`, { key: admin, body: { reason: 'operator decided' } });
    assert.equal(manual.status, 200, JSON.stringify(manual.body));
    assert.match(await model(), /bad2$/);
  });
});

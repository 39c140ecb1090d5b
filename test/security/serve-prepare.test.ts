/**
 * Issue 20, preparing every live model (fault: after any rollback the swapped-in model ran
 * without preparation, so the OOD layer passed everything, "no OOD detector fitted for this
 * model", until a restart). Against a real `rampart serve`: a rolled-back model has its
 * OOD detector fitted like the startup model, and a promotion whose preparation fails is
 * refused while the current model keeps serving (fail closed).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRng } from '../../src/core/rng.js';
import { call, digit, key, saveGood, saveUntrained, startServe, type ServeProcess } from './serve-process.js';

describe('every model that goes live is prepared like the first (rampart serve)', () => {
  let server: ServeProcess | undefined;
  let dir: string;
  let admin: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rampart-sec-prepare-'));
    await saveUntrained(join(dir, 'bad'), 99);
    await saveGood(join(dir, 'good'));
    // No data metadata and no ood.json: no OOD detector can be fitted or loaded for it.
    await saveUntrained(join(dir, 'unpreparable'), 5, false);
    const file = join(dir, 'keys.json');
    admin = await key(file, 'admin');
    await writeFile(
      join(dir, 'serve.yaml'),
      'layers:\n  ood: { fitLimit: 300 }\ncanary:\n  count: 8\n  attackOptions: { steps: 2 }\nrollback: false\n',
    );
    server = await startServe([
      '--model',
      join(dir, 'bad'),
      '--fallback',
      join(dir, 'good'),
      '--keys',
      file,
      '--config',
      join(dir, 'serve.yaml'),
      '--log-level',
      'warn',
    ]);
  });

  after(() => server?.kill());

  test('after a rollback the OOD layer still flags noise', async () => {
    const url = (server as ServeProcess).url;
    const rolled = await call(`${url}/v1/admin/rollback`, { key: admin, body: { reason: 'drill' } });
    assert.equal(rolled.status, 200, JSON.stringify(rolled.body));
    assert.match(rolled.body.to, /good$/);
    const rng = createRng(3);
    const noise = Array.from({ length: 784 }, () => rng.next());
    const res = await call(`${url}/v1/predict`, { key: admin, body: { inputs: [noise, digit(1)] } });
    assert.equal(res.status, 200);
    const ood = res.body.trace.find((t: { layer: string }) => t.layer === 'ood');
    assert.equal(ood.decision, 'flag', JSON.stringify(ood));
    const models = await call(`${url}/v1/models`, { key: admin });
    assert.ok(models.body.models[0].ood?.threshold > 0, 'the rolled-back model has its own detector');
  });

  test('a promotion whose preparation fails is refused; the current model keeps serving', async () => {
    const url = (server as ServeProcess).url;
    const before = (await call(`${url}/v1/admin/status`, { key: admin })).body.model as string;
    const promoted = await call(`${url}/v1/admin/promote`, { key: admin, body: { ref: join(dir, 'unpreparable'), reason: 'try it' } });
    assert.equal(promoted.status, 422, JSON.stringify(promoted.body));
    assert.equal(promoted.body.error.code, 'E_SWAP_REFUSED');
    const status = (await call(`${url}/v1/admin/status`, { key: admin })).body;
    assert.equal(status.model, before);
    assert.equal(status.source, `directory ${join(dir, 'good')}`, 'the record did not move either');
    assert.equal((await call(`${url}/v1/predict`, { key: admin, body: { inputs: [digit(2)] } })).status, 200);
  });
});

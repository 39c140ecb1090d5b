/**
 * Issue 20, least disclosure (fault: every response handed the caller each layer's score
 * and reason and probabilities to six decimals; `GET /v1/models` at the lowest role showed
 * server paths, the OOD threshold and the temperature). Against a real `rampart serve` on
 * its default configuration: a predict key gets labels and rounded probabilities only;
 * an operator key gets the trace and the details.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { call, digit, key, saveGood, startServe, type ServeProcess } from './serve-process.js';

describe('least disclosure (rampart serve, default configuration)', () => {
  let server: ServeProcess | undefined;
  let keys: { predict: string; operator: string };
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rampart-sec-disclosure-'));
    await saveGood(join(dir, 'model'));
    const file = join(dir, 'keys.json');
    keys = { predict: await key(file, 'predict'), operator: await key(file, 'operator') };
    // Only what keeps startup quick: a small OOD fit and probe set; disclosure stays at its default.
    await writeFile(join(dir, 'serve.yaml'), 'layers:\n  ood: { fitLimit: 300 }\ncanary:\n  count: 8\n  attackOptions: { steps: 2 }\n');
    server = await startServe(['--model', join(dir, 'model'), '--keys', file, '--config', join(dir, 'serve.yaml'), '--log-level', 'warn']);
  });

  after(() => server?.kill());

  test('predict: a predict key gets labels and 4-decimal probabilities, no trace, scores or flags', async () => {
    const url = (server as ServeProcess).url;
    const noise = Array.from({ length: 784 }, (_, i) => ((i * 7919) % 997) / 997);
    const res = await call(`${url}/v1/predict`, { key: keys.predict, body: { inputs: [digit(0), noise] } });
    assert.equal(res.status, 200);
    assert.equal(res.body.trace, undefined, 'no decision trace for a predict key');
    assert.equal(res.body.model.id, undefined, 'no model id (architecture and path) for a predict key');
    for (const p of res.body.predictions) {
      assert.equal(p.flags, undefined);
      for (const v of p.probabilities)
        assert.ok(Math.abs(v * 1e4 - Math.round(v * 1e4)) < 1e-6, `probability ${v} has more than 4 decimals`);
      assert.ok(Math.abs(p.probabilities.reduce((s: number, v: number) => s + v, 0) - 1) < 1e-6);
    }
    const op = await call(`${url}/v1/predict`, { key: keys.operator, body: { inputs: [digit(0), noise] } });
    assert.equal(op.status, 200);
    assert.deepEqual(
      op.body.trace.map((t: { layer: string }) => t.layer),
      ['auth', 'rate-limit', 'validate', 'query-pattern', 'model', 'ood', 'abstain'],
    );
  });

  test('GET /v1/models: no paths, thresholds or temperature below the operator role', async () => {
    const url = (server as ServeProcess).url;
    const low = await call(`${url}/v1/models`, { key: keys.predict });
    assert.equal(low.status, 200);
    const text = JSON.stringify(low.body);
    assert.ok(!text.includes(dir), `paths disclosed: ${text}`);
    for (const field of ['source', 'temperature', 'ood', 'id', 'info'])
      assert.equal(low.body.models[0][field], undefined, `${field} disclosed`);
    assert.equal(low.body.previous, undefined);
    assert.deepEqual(low.body.models[0].inputShape, [28, 28, 1]);
    const ready = await call(`${url}/readyz`);
    assert.equal(ready.status, 200);
    assert.ok(!JSON.stringify(ready.body).includes(dir), 'the public readiness route names no path');
    const op = await call(`${url}/v1/models`, { key: keys.operator });
    assert.ok(op.body.models[0].ood.threshold > 0);
    assert.equal(op.body.models[0].temperature, 1);
  });

  test('a defence refusal tells a predict key its code, not the layer or its score', async () => {
    const url = (server as ServeProcess).url;
    // The same image over and over: the query-pattern layer refuses it (bounded: at most 40 tries).
    let res = await call(`${url}/v1/predict`, { key: keys.predict, body: { inputs: [digit(5)] } });
    for (let i = 0; i < 40 && res.status === 200; i++)
      res = await call(`${url}/v1/predict`, { key: keys.predict, body: { inputs: [digit(5)] } });
    assert.equal(res.status, 429);
    assert.equal(res.body.error.code, 'E_QUERY_PATTERN');
    assert.equal(res.body.trace, undefined);
    assert.equal(res.body.error.details?.layer, undefined);
    assert.doesNotMatch(res.body.error.message, /query-pattern|distance|\d\.\d/);
  });
});

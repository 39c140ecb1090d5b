/**
 * `POST /v1/explain` on a real `rampart serve` child process: operators only (no key 401, a
 * predict key 403), bounded options, and the attribution of the live model; and on an
 * in-process server with a text model, leave-one-out on the served filter.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { saveClassifierModel } from '../src/models/store.js';
import { saveTextClassifier } from '../src/models/text/store.js';
import { trainTextClassifier } from '../src/training/text/train.js';
import { addApiKey, KeyStore } from '../src/serve/auth.js';
import { buildServer } from '../src/serve/app.js';
import { directorySource } from '../src/serve/model-source.js';
import { smallMnist, trainedMlp } from './fixtures.js';
import { startServe, type ServeProcess } from './serve-process.js';

describe('POST /v1/explain', () => {
  let dir: string;
  let server: ServeProcess | undefined;
  let predictKey: string;
  let operatorKey: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rampart-explain-serve-'));
    await saveClassifierModel((await trainedMlp()).model, join(dir, 'model'), {
      architecture: 'mlp',
      inputShape: [28, 28, 1],
      numClasses: 10,
      bounds: { min: 0, max: 1 },
    });
    const keys = join(dir, 'keys.json');
    predictKey = (await addApiKey(keys, { role: 'predict', name: 'app' })).key;
    operatorKey = (await addApiKey(keys, { role: 'operator', name: 'ops' })).key;
    await writeFile(join(dir, 'serve.yaml'), 'canary: false\nlayers:\n  ood: false\n');
    server = await startServe(['--model', join(dir, 'model'), '--keys', keys, '--config', join(dir, 'serve.yaml'), '--log-level', 'warn']);
  });

  after(async () => {
    await server?.stop();
  });

  const post = (body: unknown, key?: string): Promise<Response> =>
    fetch(`${server?.url}/v1/explain`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
      body: JSON.stringify(body),
    });
  const digit = (): number[] => Array.from(smallMnist().test.x.subarray(0, 784));

  test('needs the operator role: no key 401, a predict key 403', async () => {
    const anonymous = await post({ inputs: [digit()] });
    assert.equal(anonymous.status, 401);
    const predict = await post({ inputs: [digit()] }, predictKey);
    assert.equal(predict.status, 403);
    assert.equal(((await predict.json()) as { error: { code: string } }).error.code, 'E_FORBIDDEN');
    // The predict key itself works where it should.
    const ok = await fetch(`${server?.url}/v1/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${predictKey}` },
      body: JSON.stringify({ inputs: [digit()] }),
    });
    assert.equal(ok.status, 200);
  });

  test('an operator gets the attribution of the live model, with IG completeness and the top pixels', async () => {
    const res = await post({ inputs: [digit()], options: { method: 'ig', steps: 64, top: 5 } }, operatorKey);
    assert.equal(res.status, 200, await res.clone().text());
    const json = (await res.json()) as {
      method: string;
      values: number[];
      shape: number[];
      completenessError: number;
      evaluations: number;
      top: { position: number[]; value: number }[];
      model: { id: string };
    };
    assert.equal(json.method, 'ig');
    assert.deepEqual(json.shape, [28, 28, 1]);
    assert.equal(json.values.length, 784);
    assert.equal(json.evaluations, 66);
    assert.ok(json.completenessError < 0.01, `completeness error ${json.completenessError}`);
    assert.equal(json.top.length, 5);
    assert.ok(Math.abs(json.top[0]!.value) >= Math.abs(json.top[4]!.value));
    const occluded = await post({ inputs: [digit()], options: { method: 'occlusion', window: 7, stride: 7 } }, operatorKey);
    assert.equal(occluded.status, 200);
    assert.equal(((await occluded.json()) as { evaluations: number }).evaluations, 17);
  });

  test('options and inputs are bounded and checked', async () => {
    for (const [body, code] of [
      [{ inputs: [digit()], options: { steps: 100_000 } }, 'E_EXPLAIN_OPTION'],
      [{ inputs: [digit()], options: { method: 'magic' } }, 'E_EXPLAIN_OPTION'],
      [{ inputs: [digit()], options: { samples: 65, method: 'smoothgrad' } }, 'E_EXPLAIN_OPTION'],
      [{ inputs: [digit()], options: { extra: 1 } }, 'E_EXPLAIN_OPTION'],
      [{ inputs: [digit(), digit()] }, 'E_BATCH_SIZE'],
      [{ inputs: [[1, 2, 3]] }, 'E_INPUT_SHAPE'],
      [{ inputs: [digit()], options: { target: 10 } }, 'E_EXPLAIN_TARGET'],
    ] as const) {
      const res = await post(body, operatorKey);
      assert.equal(res.status, 400, `${JSON.stringify(body).slice(0, 80)}: ${res.status}`);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, code);
    }
  });
});

test('POST /v1/explain on a text model: leave-one-out on the served filter', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rampart-explain-text-'));
  const texts = ['free cash prize now', 'claim your free bonus', 'team meeting notes', 'project review tomorrow'];
  const { classifier } = await trainTextClassifier(
    { name: 't', texts: [...texts, ...texts], labels: [1, 1, 0, 0, 1, 1, 0, 0], classes: ['ham', 'spam'] },
    { epochs: 8, learningRate: 0.05, featurizer: { buckets: 256 }, seed: 1 },
  );
  await saveTextClassifier(classifier, join(dir, 'model'));
  classifier.dispose();
  const file = join(dir, 'keys.json');
  const { key } = await addApiKey(file, { role: 'operator' });
  const app = await buildServer({
    source: directorySource({ dir: join(dir, 'model') }),
    keys: await KeyStore.fromFile(file),
    config: { canary: false, layers: { ood: false } },
    timers: false,
  });
  try {
    const headers = { authorization: `Bearer ${key}` };
    const res = await app.inject({
      method: 'POST',
      url: '/v1/explain',
      headers,
      payload: { texts: ['claim your free cash for the meeting'] },
    });
    assert.equal(res.statusCode, 200, res.body);
    const json = res.json() as { method: string; class: string; words: { word: string; importance: number }[]; evaluations: number };
    assert.equal(json.method, 'leave-one-out');
    assert.equal(json.class, 'spam');
    assert.equal(json.words.length, 7);
    assert.equal(json.evaluations, 8);
    const top = [...json.words].sort((a, b) => b.importance - a.importance)[0]!.word;
    assert.ok(['claim', 'free', 'cash'].includes(top), `top word ${top}`);
    const long = await app.inject({ method: 'POST', url: '/v1/explain', headers, payload: { texts: ['x'], options: { maxWords: 5000 } } });
    assert.equal(long.statusCode, 400);
    const two = await app.inject({ method: 'POST', url: '/v1/explain', headers, payload: { texts: ['a', 'b'] } });
    assert.equal(two.statusCode, 400);
  } finally {
    await app.close();
  }
});

/**
 * Property-based fuzzing of `POST /v1/predict`: whatever bytes arrive (malformed JSON,
 * wrong shapes, NaN/Infinity, huge bodies, invalid UTF-8, deep nesting, odd content
 * types), the server answers 4xx with a stable error code, never 5xx, and keeps serving.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { engine } from './fixtures.js';
import { buildModel } from '../src/models/architectures.js';
import { saveClassifierModel } from '../src/models/store.js';
import { buildServer } from '../src/serve/app.js';
import { directorySource } from '../src/serve/model-source.js';

let app: FastifyInstance;
const BODY_LIMIT = 64 * 1024;

before(async () => {
  await engine();
  const dir = join(await mkdtemp(join(tmpdir(), 'rampart-fuzz-')), 'model');
  const model = buildModel('linear', { inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
  await saveClassifierModel(model, dir, { architecture: 'linear', inputShape: [28, 28, 1], numClasses: 10, bounds: { min: 0, max: 1 } });
  model.dispose();
  app = await buildServer({
    source: directorySource({ dir }),
    // Rate limits and query-pattern detection would answer a fuzzer with 429s; they are tested elsewhere.
    config: { limits: { bodyBytes: BODY_LIMIT }, layers: { rateLimit: false, queryPattern: false, ood: false }, canary: false },
    timers: false,
  });
});

after(async () => {
  await app.close();
});

async function send(payload: string | Buffer, contentType = 'application/json'): Promise<void> {
  const res = await app.inject({ method: 'POST', url: '/v1/predict', payload, headers: { 'content-type': contentType } });
  assert.ok(res.statusCode < 500, `status ${res.statusCode} for ${String(payload).slice(0, 120)}: ${res.body.slice(0, 300)}`);
  if (res.statusCode === 200) return;
  assert.ok([400, 413, 415, 422].includes(res.statusCode), `status ${res.statusCode}`);
  const body = res.json() as { error?: { code?: unknown } };
  assert.match(String(body.error?.code), /^E_[A-Z0-9_]+$/, res.body.slice(0, 300));
}

const RUNS = { numRuns: 60, seed: 20261125 };

describe('fuzzing POST /v1/predict', () => {
  test('any JSON value', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 6 }), async (v) => send(JSON.stringify(v))),
      RUNS,
    );
  });

  test('inputs of wrong shapes and non-finite or out-of-range values', async () => {
    const value = fc.oneof(
      fc.double(),
      fc.constantFrom(NaN, Infinity, -Infinity, -0, 1e308),
      fc.string({ maxLength: 3 }),
      fc.constant(null),
      fc.boolean(),
    );
    const example = fc.oneof(fc.array(value, { maxLength: 800 }), fc.array(fc.array(value, { maxLength: 30 }), { maxLength: 30 }), value);
    await fc.assert(
      fc.asyncProperty(fc.array(example, { maxLength: 4 }), async (inputs) => send(JSON.stringify({ inputs }))),
      RUNS,
    );
    // JSON has no NaN or Infinity literals; these must be parse errors, and 1e999 overflows to Infinity.
    for (const raw of [
      '{"inputs":[[NaN]]}',
      '{"inputs":[[Infinity]]}',
      `{"inputs":[[${new Array(783).fill(0).join(',')},1e999]]}`,
      `{"inputs":[[${new Array(784).fill(-1e-9).join(',')}]]}`,
    ])
      await send(raw);
  });

  test('malformed JSON text and raw strings', async () => {
    const broken = fc.string({ maxLength: 200 }).map((s) => `{"inputs": [${s}`);
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ maxLength: 300 }), broken), async (s) => send(s)),
      RUNS,
    );
  });

  test('arbitrary bytes, including invalid UTF-8', async () => {
    const bytes = fc.uint8Array({ maxLength: 300 });
    await fc.assert(
      fc.asyncProperty(bytes, async (b) => {
        await send(Buffer.from(b));
        await send(Buffer.concat([Buffer.from('{"texts":["'), Buffer.from(b), Buffer.from('"]}')]));
      }),
      RUNS,
    );
    await send(Buffer.from([0x7b, 0x22, 0x69, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]));
  });

  test('deep nesting and huge bodies', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 20_000 }), fc.constantFrom('[', '{"a":'), async (depth, open) => {
        const close = open === '[' ? ']' : '}';
        const body = open.repeat(depth) + (open === '[' ? '' : '1') + close.repeat(depth);
        await send(body.length > BODY_LIMIT ? body.slice(0, BODY_LIMIT) : body);
      }),
      { numRuns: 30, seed: 7 },
    );
    const huge = await app.inject({
      method: 'POST',
      url: '/v1/predict',
      payload: `{"inputs":[[${'0,'.repeat(BODY_LIMIT)}0]]}`,
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(huge.statusCode, 413);
    assert.equal(huge.json().error.code, 'E_BODY_TOO_LARGE');
  });

  test('odd content types', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(
          'text/plain',
          'application/x-www-form-urlencoded',
          'application/octet-stream',
          'image/png',
          'application/json; charset=latin1',
        ),
        fc.string({ maxLength: 50 }),
        async (type, s) => send(s, type),
      ),
      { numRuns: 30, seed: 3 },
    );
  });

  test('the server still serves afterwards', async () => {
    assert.equal((await app.inject({ url: '/healthz' })).statusCode, 200);
    const ok = await app.inject({ method: 'POST', url: '/v1/predict', payload: { inputs: [new Array(784).fill(0.1)] } });
    assert.equal(ok.statusCode, 200);
  });
});

/**
 * The HTTP target against a real server on loopback that injects faults: retries after 5xx
 * and 429 (counted apart from queries), timeouts, malformed and wrongly shaped answers named
 * by field, oversized answers, the credential read from the environment and kept out of
 * errors, label-only answers, and the request/row mapping.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RampartError } from '../../core/errors.js';
import { loadHttpModel, parseHttpTargetSpec, type HttpTargetSpecInput } from './index.js';

type Fault = '500' | '503' | '429' | 'slow' | 'bad-json' | 'wrong-length' | 'wrong-type' | 'missing' | 'huge' | 'delay';

let server: Server;
let base = '';
const faults: Fault[] = [];
const seen = { requests: 0, rows: 0, auth: [] as string[], bodies: [] as unknown[], inFlight: 0, maxInFlight: 0 };
const SECRET = 'rk_test_secret_value_123';

/** Row scores: [sum, -sum, first] so the answer depends on every value. */
function scoresOf(row: number[]): number[] {
  const sum = row.reduce((a, b) => a + b, 0);
  return [sum, -sum, row[0] as number];
}

async function bodyOf(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

before(async () => {
  server = createServer((req, res) => {
    void bodyOf(req).then((text) => {
      const body = JSON.parse(text) as { model?: string; payload: { rows: number[][] } };
      seen.requests++;
      seen.rows += body.payload.rows.length;
      seen.auth.push(String(req.headers['x-api-key'] ?? ''));
      seen.bodies.push(body);
      const fault = faults.shift();
      const json = (status: number, value: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(value));
      };
      const rows = body.payload.rows.map((r) => ({
        scores: scoresOf(r.flat(3) as number[]),
        label: (r.flat(3)[0] as number) > 0.5 ? 1 : 0,
      }));
      switch (fault) {
        case '500':
        case '503':
          return json(Number(fault), { error: 'boom' });
        case '429':
          return json(429, { error: 'slow down' }, { 'retry-after': '0' });
        case 'slow':
          return void setTimeout(() => json(200, { out: rows }), 3000);
        case 'bad-json':
          res.writeHead(200, { 'content-type': 'application/json' });
          return res.end('{"out": [1, 2');
        case 'wrong-length':
          return json(200, { out: rows.slice(1) });
        case 'wrong-type':
          return json(200, { out: rows.map((r, i) => (i === 1 ? { ...r, scores: [r.scores[0], 'x', 0] } : r)) });
        case 'missing':
          return json(200, { result: rows });
        case 'delay':
          // Only these requests are tracked: slow answers of earlier tests may still be pending.
          seen.inFlight++;
          seen.maxInFlight = Math.max(seen.maxInFlight, seen.inFlight);
          return void setTimeout(() => {
            seen.inFlight--;
            json(200, { out: rows });
          }, 200);
        case 'huge':
          return json(200, { out: rows, padding: 'x'.repeat(10_000) });
        default:
          return json(200, { out: rows });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  process.env.RAMPART_HTTP_TEST_KEY = SECRET;
});

after(() => {
  server.closeAllConnections();
  server.close();
  delete process.env.RAMPART_HTTP_TEST_KEY;
});

const spec = (over: Partial<HttpTargetSpecInput> = {}): HttpTargetSpecInput => ({
  url: `${base}/predict`,
  input: { path: '$.payload.rows', format: 'nested', template: { model: 'm1', payload: {} } },
  output: 'scores',
  outputPath: '$.out[*].scores',
  inputShape: [2, 2],
  numClasses: 3,
  batchSize: 2,
  backoffMs: 1,
  maxBackoffMs: 5,
  fingerprintProbes: 2,
  authHeader: 'x-api-key',
  authEnv: 'RAMPART_HTTP_TEST_KEY',
  ...over,
});

const rows = Float32Array.from([0.1, 0.2, 0.3, 0.4, 0.9, 0.1, 0.1, 0.1, 0.5, 0.5, 0.5, 0.5]);
const codeIs = (code: string, pattern?: RegExp) => (e: unknown) =>
  e instanceof RampartError && e.code === code && (pattern === undefined || pattern.test(e.message)) && !e.message.includes(SECRET);

test('rows go nested into the template, scores come back in order, every row is one query', async () => {
  const { classifier, identity, source } = await loadHttpModel(spec());
  assert.equal(source, 'http');
  assert.equal(classifier.access, 'scores');
  assert.equal(classifier.stats().queries, 2, 'the fingerprint probes are queries too');
  const before = { ...seen };
  const scores = await classifier.queryScores(rows, 3);
  assert.deepEqual(
    Array.from(scores, (v) => Math.round(v * 1e5) / 1e5),
    [1, -1, 0.1, 1.2, -1.2, 0.9, 2, -2, 0.5],
  );
  assert.equal(seen.rows - before.rows, 3);
  assert.equal(seen.requests - before.requests, 2, 'batchSize 2: two requests for three rows');
  assert.deepEqual(seen.bodies.at(-1), {
    model: 'm1',
    payload: { rows: [[Array.from(rows.subarray(8, 10)), Array.from(rows.subarray(10, 12))]] },
  });
  assert.equal(seen.auth.at(-1), SECRET, 'the credential comes from the environment');
  assert.deepEqual(classifier.stats(), { queries: 5, requests: 3, retries: 0, failures: 0 });
  assert.equal(identity.kind, 'endpoint');
  const again = await loadHttpModel(spec());
  assert.deepEqual(again.identity, identity, 'the same endpoint fingerprints the same');
  const other = await loadHttpModel(spec({ outputPath: '$.out[*].label', output: 'label' }));
  assert.notEqual(other.identity.kind === 'endpoint' && other.identity.fingerprint, identity.kind === 'endpoint' && identity.fingerprint);
  assert.throws(() => classifier.logits(), codeIs('E_NOT_WHITE_BOX'));
});

test('label answers become one-hot rows', async () => {
  const { classifier } = await loadHttpModel(spec({ output: 'label', outputPath: '$.out[*].label' }));
  assert.equal(classifier.access, 'labels');
  assert.deepEqual(Array.from(await classifier.queryScores(rows, 3)), [1, 0, 0, 0, 1, 0, 1, 0, 0]);
});

test('5xx and 429 are retried with backoff; retries are counted apart from queries', async () => {
  const { classifier } = await loadHttpModel(spec({ batchSize: 4 }));
  const start = classifier.stats();
  const requestsBefore = seen.requests;
  faults.push('500', '503', '429');
  const scores = await classifier.queryScores(rows, 3);
  assert.equal(scores[0], 1);
  const stats = classifier.stats();
  assert.equal(stats.queries - start.queries, 3, 'three rows, however often they were sent');
  assert.equal(stats.retries - start.retries, 3);
  assert.equal(stats.requests - start.requests, 1);
  assert.equal(seen.requests - requestsBefore, 4, 'the server saw the request four times');
  const giving = (await loadHttpModel(spec({ retries: 2 }))).classifier;
  faults.push('500', '500', '500');
  await assert.rejects(giving.queryScores(rows.subarray(0, 4), 1), codeIs('E_TARGET_STATUS', /HTTP 500/));
  assert.deepEqual(giving.stats(), { queries: 3, requests: 2, retries: 2, failures: 1 });
});

test('a slow answer times out (and is retried), a malformed one is a coded error naming the field', async () => {
  // Timeouts well apart from the slow answer (3 s) and from a quick one on a loaded machine.
  const hasty = (await loadHttpModel(spec({ timeoutMs: 1000, retries: 0 }))).classifier;
  faults.push('slow');
  await assert.rejects(hasty.queryScores(rows.subarray(0, 4), 1), codeIs('E_TARGET_TIMEOUT', /1000 ms/));
  const patient = (await loadHttpModel(spec({ timeoutMs: 1000, retries: 1 }))).classifier;
  faults.push('slow');
  assert.equal((await patient.queryScores(rows.subarray(0, 4), 1))[0], 1);
  assert.equal(patient.stats().retries, 1);
  const { classifier } = await loadHttpModel(spec({ retries: 0 }));
  faults.push('bad-json');
  await assert.rejects(classifier.queryScores(rows.subarray(0, 4), 1), codeIs('E_TARGET_RESPONSE', /not JSON/));
  faults.push('wrong-length');
  await assert.rejects(
    classifier.queryScores(rows.subarray(0, 8), 2),
    codeIs('E_TARGET_RESPONSE', /answered 1 rows at \$\.out\[\*\]\.scores for 2/),
  );
  faults.push('wrong-type');
  await assert.rejects(classifier.queryScores(rows.subarray(0, 8), 2), codeIs('E_TARGET_RESPONSE', /\$\.out\[1\]\.scores\[1\]/));
  faults.push('missing');
  await assert.rejects(classifier.queryScores(rows.subarray(0, 4), 1), codeIs('E_TARGET_RESPONSE', /without \$\.out/));
  const capped = (await loadHttpModel(spec({ maxResponseBytes: 1000 }))).classifier;
  faults.push('huge');
  await assert.rejects(capped.queryScores(rows.subarray(0, 4), 1), codeIs('E_TARGET_RESPONSE_TOO_LARGE'));
  const wrongClasses = (await loadHttpModel(spec({ numClasses: 3 }))).classifier;
  await assert.rejects(wrongClasses.queryScores(rows, 2), codeIs('E_INPUT_SHAPE'));
});

test('no more than `concurrency` requests are in flight at once', async () => {
  const { classifier } = await loadHttpModel(spec({ batchSize: 1, concurrency: 2 }));
  seen.maxInFlight = 0;
  faults.push(...Array.from({ length: 8 }, () => 'delay' as const));
  const many = Float32Array.from({ length: 8 * 4 }, (_, i) => (i % 7) / 10);
  await classifier.queryScores(many, 8);
  assert.equal(seen.maxInFlight, 2, 'eight requests held 200 ms each, two at a time');
  assert.equal(classifier.stats().requests, 2 + 8);
});

test('once a request fails for good, the requests still waiting are dropped unsent and uncounted', async () => {
  const { classifier } = await loadHttpModel(spec({ batchSize: 1, concurrency: 1, retries: 0 }));
  const before = { queries: classifier.stats().queries, requests: seen.requests };
  faults.push('bad-json');
  await assert.rejects(classifier.queryScores(rows, 3), codeIs('E_TARGET_RESPONSE', /not JSON/));
  assert.equal(classifier.stats().queries - before.queries, 1);
  assert.equal(seen.requests - before.requests, 1, 'the server saw only the failed request');
});

test('spec and credential errors say what to fix, and never show the credential', async () => {
  assert.throws(() => parseHttpTargetSpec({ ...spec(), url: 'ftp://x' }), codeIs('E_HTTP_TARGET_SPEC', /url/));
  assert.throws(() => parseHttpTargetSpec({ ...spec(), outputPath: '$.a[*].b[*]' }), codeIs('E_HTTP_TARGET_SPEC', /outputPath/));
  assert.throws(() => parseHttpTargetSpec({ ...spec(), authEnv: undefined }), codeIs('E_HTTP_TARGET_SPEC', /authHeader and authEnv/));
  await assert.rejects(loadHttpModel(spec({ authEnv: 'RAMPART_HTTP_TEST_UNSET' })), codeIs('E_HTTP_AUTH_ENV', /RAMPART_HTTP_TEST_UNSET/));
  await assert.rejects(loadHttpModel(spec({ url: 'http://127.0.0.1:1/none', retries: 0 })), codeIs('E_TARGET_UNREACHABLE'));
});

/** The JSON path subset of the HTTP mapping, and the transport's pure parts: backoff and pacing. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng } from '../../core/rng.js';
import { formatJsonPath, parseJsonPath, rowsAt, withValueAt } from './json-path.js';
import { backoffDelay, Pacer } from './transport.js';

test('paths parse, format back, place rows in a template copy and read rows out', () => {
  const out = parseJsonPath("$.data['the scores'][*].p");
  assert.deepEqual(out, [{ kind: 'key', key: 'data' }, { kind: 'key', key: 'the scores' }, { kind: 'each' }, { kind: 'key', key: 'p' }]);
  assert.equal(formatJsonPath(out ?? [], 3), "$.data['the scores'][3].p");
  for (const bad of ['inputs', '$.', '$[x]', '$..a', '$.a[*', `$${'.a'.repeat(300)}`]) assert.equal(parseJsonPath(bad), undefined, bad);
  const template = { model: 'm', options: { k: 1 } };
  const body = withValueAt(template, parseJsonPath('$.payload.rows[1]') ?? [], [[1, 2]]);
  assert.deepEqual(body, { model: 'm', options: { k: 1 }, payload: { rows: [null, [[1, 2]]] } });
  assert.deepEqual(template, { model: 'm', options: { k: 1 } }, 'the template is not changed');
  const answer = { r: [{ s: [1, 2] }, { s: [3, 4] }] };
  assert.deepEqual(rowsAt(answer, parseJsonPath('$.r[*].s') ?? []), {
    rows: [
      [1, 2],
      [3, 4],
    ],
  });
  assert.deepEqual(rowsAt({ r: [[1], [2]] }, parseJsonPath('$.r') ?? []), { rows: [[1], [2]] });
  assert.deepEqual(rowsAt({ r: [{ s: 1 }, { t: 2 }] }, parseJsonPath('$.r[*].s') ?? []), {
    miss: { at: '$.r[1].s', found: 'missing in an object' },
  });
  assert.deepEqual(rowsAt({ r: 5 }, parseJsonPath('$.r[*]') ?? []), { miss: { at: '$.r', found: 'number 5' } });
  assert.deepEqual(rowsAt({ constructor: [1] }, parseJsonPath('$.toString') ?? []), {
    miss: { at: '$.toString', found: 'missing in an object' },
  });
});

test('backoff doubles per attempt with seeded jitter in [0.5, 1) of the step, capped, and honours a longer Retry-After', () => {
  const spec = { backoffMs: 100, maxBackoffMs: 1000 };
  const rng = createRng(7);
  const b = [0, 1, 2, 3, 4, 5].map((k) => backoffDelay(spec, k, rng));
  const again = createRng(7);
  assert.deepEqual(
    b,
    [0, 1, 2, 3, 4, 5].map((k) => backoffDelay(spec, k, again)),
    'the same seed gives the same waits',
  );
  b.forEach((wait, k) => {
    const step = Math.min(1000, 100 * 2 ** k);
    assert.ok(wait >= step / 2 && wait < step, `attempt ${k}: ${wait} in [${step / 2}, ${step})`);
  });
  assert.equal(backoffDelay(spec, 0, createRng(1), 700), 700);
  assert.equal(backoffDelay(spec, 0, createRng(1), 60_000), 1000, 'Retry-After is capped too');
});

test('the pacer hands out start times at most ratePerSecond apart', () => {
  const pacer = new Pacer(4);
  assert.deepEqual(
    [0, 0, 0, 1000, 1000].map((now) => pacer.reserve(now)),
    [0, 250, 500, 1000, 1250],
  );
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compactCapture, prepareCapture, type RawRequestCapture } from './capture-prepare.js';

const raw = (body: unknown, channel: 'image' | 'text' = 'image'): RawRequestCapture => ({
  kind: 'request',
  source: 'flag',
  at: Date.parse('2026-01-01T00:00:00Z'),
  client: 'key:k',
  model: 'm',
  channel,
  shape: [2, 2],
  body,
  decisions: [{ layer: 'ood', decision: 'flag', score: 1 }],
  payload: JSON.stringify({ predictions: [{ label: 3 }, { label: null, probabilities: [0.1, 0.7, 0.2] }, { label: 5 }] }),
  perRequest: 2,
});

test('a compacted request prepares to the same examples as the nested body, at most perRequest of them', () => {
  const body = {
    inputs: [
      [
        [0.1, 0.2],
        [0.3, 0.4],
      ],
      [0.5, 0.6, 0.7, 0.8],
      [
        [1, 1],
        [1, 1],
      ],
    ],
  };
  const direct = prepareCapture(raw(body));
  const compacted = compactCapture(raw(body));
  assert.equal((compacted as RawRequestCapture).body, null);
  const viaBuffer = prepareCapture(compacted);
  assert.equal(direct.length, 2);
  assert.deepEqual(
    viaBuffer.map((i) => [Array.from(i.x ?? [], (v) => Math.round(v * 10) / 10), i.predicted]),
    direct.map((i) => [Array.from(i.x ?? [], (v) => Math.round(v * 10) / 10), i.predicted]),
  );
  // An abstained answer's label is the model's top class.
  assert.equal(direct[1]?.predicted, 1);
  // Malformed examples are dropped, never stored half.
  assert.equal(prepareCapture(compactCapture(raw({ inputs: [[1, 2, 3], 'x'] }))).length, 0);
  const text = prepareCapture(compactCapture(raw({ texts: ['a', 'b', 'c'] }, 'text')));
  assert.deepEqual(
    text.map((i) => i.text),
    ['a', 'b'],
  );
});

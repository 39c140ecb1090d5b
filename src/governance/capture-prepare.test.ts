import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compactCapture, packBatch, prepareCapture, type RawRequestCapture } from './capture-prepare.js';

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

test('a request kept as its body bytes prepares like the parsed body; packing moves owned buffers and copies pooled ones', () => {
  const body = {
    inputs: [
      [0.1, 0.2, 0.3, 0.4],
      [
        [0.5, 0.6],
        [0.7, 0.8],
      ],
      [1, 1, 1, 1],
    ],
  };
  // A body that owns its whole buffer (as Node gives large bodies), and small ones in Node's shared pool.
  const owned = new TextEncoder().encode(JSON.stringify(body));
  const pooled = Buffer.from(JSON.stringify({ texts: ['a', 'b', 'c'] }));
  const pooledToo = Buffer.from(JSON.stringify({ texts: ['d'] }));
  assert.notEqual(pooled.byteLength, pooled.buffer.byteLength, 'expected a pooled Buffer');
  const batch = [
    { ...raw(null), json: owned },
    { kind: 'input' as const, item: { source: 'canary' as const, model: 'm', client: 'c', at: 'now', decisions: [], text: 't' } },
    { ...raw(null, 'text'), json: pooled },
    { ...raw(null, 'text'), json: pooledToo },
  ];
  const { batch: packed, transfer } = packBatch(batch);
  assert.equal(transfer.length, 2);
  assert.ok(transfer.includes(owned.buffer as ArrayBuffer), 'the owned buffer is moved, not copied');
  assert.ok(!transfer.includes(pooled.buffer as ArrayBuffer), 'the pool slab is never moved');
  const json = (i: number) => (packed[i] as RawRequestCapture).json as Uint8Array;
  assert.equal(json(0), owned);
  assert.equal(json(2).buffer, json(3).buffer);
  const image = prepareCapture(packed[0]!);
  assert.deepEqual(
    image.map((i) => [Array.from(i.x ?? [], (v) => Math.round(v * 10) / 10), i.predicted]),
    prepareCapture(raw(body)).map((i) => [Array.from(i.x ?? [], (v) => Math.round(v * 10) / 10), i.predicted]),
  );
  assert.equal(image.length, 2);
  assert.deepEqual(
    [...prepareCapture(packed[2]!), ...prepareCapture(packed[3]!)].map((i) => i.text),
    ['a', 'b', 'd'],
  );
  // Bytes that do not parse store nothing rather than failing the batch.
  assert.equal(prepareCapture({ ...raw(null), json: new TextEncoder().encode('{"inputs": [') }).length, 0);
  // compactCapture leaves a request with bytes alone: no parsing on the server's thread.
  const kept = { ...raw(body), json: owned };
  assert.equal(compactCapture(kept), kept);
});

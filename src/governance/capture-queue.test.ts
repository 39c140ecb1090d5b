import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCaptureQueue } from './capture-queue.js';

test('hands over in batches off the call, drops when full, and drain hands over every accepted item', async () => {
  const batches: number[][] = [];
  let settled = false;
  const q = createCaptureQueue<number>({
    write: (batch) => void batches.push(batch),
    settle: async () => void (settled = true),
    sample: 1,
    queueSize: 5,
    batchSize: 2,
    flushMs: 60_000,
  });
  const accepted = [1, 2, 3, 4, 5, 6, 7].map((n) => q.offer(n));
  assert.deepEqual(accepted, [true, true, true, true, true, false, false]);
  // Nothing was handed over inside offer().
  assert.equal(batches.length, 0);
  await q.drain();
  assert.deepEqual(batches.flat(), [1, 2, 3, 4, 5]);
  assert.ok(batches.every((b) => b.length <= 2));
  assert.ok(settled);
  assert.deepEqual(q.stats(), { accepted: 5, dropped: 2, sampledOut: 0, handedOver: 5, failures: 0, pending: 0 });
  assert.equal(q.offer(8), false);
});

test('a refused batch stays queued and is retried, in order', async () => {
  const written: number[] = [];
  let fail = 1;
  const q = createCaptureQueue<number>({
    write: (batch) => {
      if (fail-- > 0) throw new Error('writer busy');
      written.push(...batch);
    },
    sample: 1,
    queueSize: 10,
    batchSize: 10,
    flushMs: 60_000,
  });
  for (const n of [1, 2, 3]) q.offer(n);
  q.flush();
  assert.deepEqual(written, []);
  assert.equal(q.stats().pending, 3);
  await q.drain();
  assert.deepEqual(written, [1, 2, 3]);
});

test('sampling keeps about the configured share', async () => {
  let s = 1;
  const random = (): number => (s = (s * 16807) % 2147483647) / 2147483647;
  const q = createCaptureQueue<number>({ write: () => {}, sample: 0.25, queueSize: 100_000, batchSize: 1024, flushMs: 60_000, random });
  for (let i = 0; i < 4000; i++) q.offer(i);
  const { accepted, sampledOut } = q.stats();
  assert.equal(accepted + sampledOut, 4000);
  assert.ok(accepted > 800 && accepted < 1200, String(accepted));
  await q.drain();
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SampleRing } from './sample-ring.js';
import { AnomalyWindow } from './anomaly-window.js';

test('SampleRing keeps copies, not the caller buffers, and the last `capacity` examples', () => {
  const ring = new SampleRing(3);
  const x = Float32Array.of(1, 2);
  ring.push('a', { x, shape: [2] });
  x[0] = 99; // the request's buffer is reused or changed later: the sample must not move with it
  ring.push('b', { text: 'hello' });
  ring.push('c', { x: Float32Array.of(5, 6), shape: [2] });
  ring.push('d', { x: Float32Array.of(7, 8), shape: [2] }); // pushes out 'a'
  const all = ring.all();
  assert.deepEqual(
    all.map((e) => e.client),
    ['d', 'b', 'c'],
  );
  assert.deepEqual(Array.from(all[0]?.x ?? []), [7, 8]);
  assert.equal(all[1]?.text, 'hello');
  assert.equal(all[1]?.x, undefined);
  assert.deepEqual(Array.from(all[2]?.x ?? []), [5, 6]);
  // What all() returns is a copy too: changing it leaves the ring alone.
  (all[2]?.x as Float32Array)[0] = -1;
  assert.deepEqual(Array.from(ring.all()[2]?.x ?? []), [5, 6]);
});

test('SampleRing: an example of another size keeps its own copy; clear forgets everything', () => {
  const ring = new SampleRing(2);
  ring.push('a', { x: Float32Array.of(1, 2), shape: [2] });
  ring.push('b', { x: Float32Array.of(3, 4, 5), shape: [3] });
  assert.deepEqual(
    ring.all().map((e) => Array.from(e.x ?? [])),
    [
      [1, 2],
      [3, 4, 5],
    ],
  );
  ring.push('c', { x: Float32Array.of(6, 7), shape: [2] }); // takes the odd slot's place in the slab
  assert.deepEqual(
    ring.all().map((e) => Array.from(e.x ?? [])),
    [
      [6, 7],
      [3, 4, 5],
    ],
  );
  ring.clear();
  assert.equal(ring.size, 0);
  assert.deepEqual(ring.all(), []);
});

test('AnomalyWindow samples what it was given, copied, with its client', () => {
  const w = new AnomalyWindow(10, 4);
  const x = Float32Array.of(0.5, 0.25);
  w.record(
    'key:a',
    [true, false],
    [
      { x: x.subarray(0, 1), shape: [1] },
      { x: x.subarray(1, 2), shape: [1] },
    ],
  );
  x.fill(0);
  assert.deepEqual(
    w.sampled().map((e) => [e.client, Array.from(e.x ?? [])]),
    [
      ['key:a', [0.5]],
      ['key:a', [0.25]],
    ],
  );
  assert.equal(w.rate(), 0.5);
});

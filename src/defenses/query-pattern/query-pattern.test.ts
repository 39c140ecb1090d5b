import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadBundledMnist } from '../../data/index.js';
import type { GuardContext } from '../layer.js';
import { queryPatternLayer } from './index.js';
import { imageSketch, sketchText, textSimilarity } from './sketch.js';

const view = { id: 'm', kind: 'image' as const, inputShape: [28, 28, 1], bounds: { min: 0, max: 1 }, numClasses: 10 };
const ctx = (clientId: string, x: Float32Array, count: number): GuardContext => ({
  clientId,
  address: '127.0.0.1',
  model: view,
  body: null,
  batch: { x, count, shape: [28, 28, 1] },
});

describe('query-pattern history', () => {
  test('ordinary traffic: 3,000 distinct digits in batches of 64 from one client are never denied', () => {
    const mnist = loadBundledMnist();
    const layer = queryPatternLayer();
    let flagged = 0;
    for (let start = 0; start + 64 <= 3008; start += 64) {
      const v = layer.check(ctx('c', mnist.x.subarray(start * 784, (start + 64) * 784), 64)) as { decision: string; examples?: number[] };
      assert.notEqual(v.decision, 'deny', `batch at ${start}`);
      flagged += v.examples?.length ?? 0;
    }
    assert.ok(flagged <= 30, `${flagged} of 3,008 digits flagged`);
    assert.equal(layer.examples(), 3008);
  });

  test('memory: all clients together hold at most maxExamples, forgetting the least recently seen first', () => {
    const layer = queryPatternLayer({ window: 100, maxExamples: 250 });
    const x = new Float32Array(784 * 60).fill(0.5);
    for (const id of ['a', 'b', 'c', 'd']) layer.check(ctx(id, x, 60));
    assert.equal(layer.examples(), 240);
    layer.check(ctx('a', x, 60));
    // 'a' was seen last; 'b' (least recent) is forgotten to make room.
    assert.equal(layer.clients(), 3);
    assert.ok(layer.examples() <= 250);
    // One client's history is cut to its window, in examples.
    layer.check(ctx('a', x, 60));
    assert.ok(layer.examples() <= 250);
    const v = layer.check(ctx('a', new Float32Array(784).fill(0.5), 1)) as { score: number };
    assert.equal(v.score, 100);
  });

  test('text sketches: bottom-k Jaccard is exact for short texts and bounded for long ones', () => {
    const a = sketchText('the quick brown fox jumps over the lazy dog');
    const b = sketchText('the quick brown cat jumps over the lazy dog');
    assert.equal(textSimilarity(a, b), 7 / 9);
    const long = Array.from({ length: 5000 }, (_, i) => `w${i}`).join(' ');
    const s = sketchText(long);
    assert.equal(s.hashes.length, 64);
    assert.equal(s.words, 5000);
    assert.equal(textSimilarity(s, sketchText(long)), 1);
    assert.ok(textSimilarity(s, sketchText(long.replace('w1 ', 'x1 '))) > 0.9);
  });
});

describe('image sketch', () => {
  test('each cell is the mean of the pixels (and channels) that pool into it, for uneven shapes too', () => {
    for (const shape of [
      [28, 28, 1],
      [32, 32, 3],
      [5, 9],
      [30, 17, 2],
    ]) {
      const [h, w] = shape as [number, number];
      const c = shape[2] ?? 1;
      const x = Float32Array.from({ length: h * w * c }, (_, i) => ((i * 7919) % 101) / 50 - 1);
      const s = imageSketch(x, 0, shape, { min: -1, max: 1 });
      const bh = Math.min(h, 7);
      const bw = Math.min(w, 7);
      const sums = new Float64Array(bh * bw);
      const counts = new Float64Array(bh * bw);
      for (let i = 0; i < h; i++)
        for (let j = 0; j < w; j++)
          for (let k = 0; k < c; k++) {
            const cell = Math.floor((i * bh) / h) * bw + Math.floor((j * bw) / w);
            sums[cell] = (sums[cell] as number) + ((x[(i * w + j) * c + k] as number) + 1) / 2;
            counts[cell] = (counts[cell] as number) + 1;
          }
      assert.equal(s.length, bh * bw);
      s.forEach((v, cell) => assert.ok(Math.abs(v - (sums[cell] as number) / (counts[cell] as number)) < 1e-6, `${shape} cell ${cell}`));
    }
  });
});

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng, type Rng } from '../../core/rng.js';
import type { GuardContext } from '../layer.js';
import { queryPatternLayer } from './index.js';
import { NearIndex } from './near-index.js';
import { imageDistanceWithin, sketchImage, sketchText, textSimilarity, type ImageSketch, type Sketch } from './sketch.js';

// A [7, 7] image's sketch is the image itself, so distances can be placed exactly.
const SHAPE = [7, 7, 1];
const BOUNDS = { min: 0, max: 1 };
const sketchOf = (cells: Float32Array): ImageSketch => sketchImage(cells, 0, SHAPE, BOUNDS);

/** A point at RMS distance about `rms` from `centre` in a random direction, clipped to [0, 1]. */
function near(centre: Float32Array, rms: number, rng: Rng): Float32Array {
  const dir = Float32Array.from(centre, () => rng.normal());
  const norm = Math.hypot(...dir);
  return Float32Array.from(centre, (v, i) => Math.min(1, Math.max(0, v + ((dir[i] as number) / norm) * rms * Math.sqrt(centre.length))));
}

function clustered(rng: Rng, distance: number, centres: number, perCentre: number): ImageSketch[] {
  const out: ImageSketch[] = [];
  for (let c = 0; c < centres; c++) {
    const centre = Float32Array.from({ length: 49 }, () => rng.next());
    // Spread around the threshold, so many pairs sit just inside and just outside it.
    for (let k = 0; k < perCentre; k++) out.push(sketchOf(near(centre, distance * 2 * rng.next(), rng)));
  }
  return out;
}

describe('near-duplicate index', () => {
  for (const distance of [0.005, 0.02, 0.1, 0.4]) {
    test(`images at distance ${distance}: the count equals a full scan's`, () => {
      const rng = createRng(7);
      const sketches = clustered(rng, distance, 30, 20);
      const index = new NearIndex({ distance, textSimilarity: 0.7 });
      sketches.forEach((s) => index.add(s));
      let near = 0;
      for (const q of sketches) {
        const expected = sketches.filter((s) => imageDistanceWithin(q, s, distance)).length;
        near += expected;
        assert.equal(index.countImages(q), expected);
      }
      assert.ok(near > 2 * sketches.length, `${near} near pairs: the data must exercise the threshold`);
    });
  }

  test('texts: every text at or above the similarity is a candidate, for several thresholds', () => {
    const rng = createRng(3);
    const vocabulary = Array.from({ length: 300 }, (_, i) => `w${i}`);
    const texts = Array.from({ length: 300 }, () => {
      const n = 1 + rng.int(90);
      return Array.from({ length: n }, () => vocabulary[rng.int(40 + n)] as string).join(' ');
    });
    texts.push('', '');
    for (const t of [0.3, 0.7, 1]) {
      const index = new NearIndex({ distance: 0.02, textSimilarity: t });
      const entries = texts.map((s) => ({ sketch: sketchText(s) }));
      entries.forEach((e) => index.add(e.sketch));
      let near = 0;
      for (const { sketch: q } of entries) {
        if (q.kind !== 'text') continue;
        // Identical texts are one point with a count, so compare counts, not objects.
        let visited = 0;
        index.textCandidates(q, (e, count) => {
          if (e.kind === 'text' && textSimilarity(q, e) >= t) visited += count;
        });
        const expected = entries.filter(({ sketch: e }) => e.kind === 'text' && textSimilarity(q, e) >= t).length;
        near += expected;
        assert.equal(visited, expected, `threshold ${t}: a near-duplicate was not visited`);
      }
      assert.ok(near > entries.length, `threshold ${t}: ${near} near pairs`);
    }
  });

  test('removal: removed examples no longer count, identical ones count once each, empty buckets are dropped', () => {
    const rng = createRng(11);
    // Every sketch twice (a second, equal object): stored as one point counted twice.
    const once = clustered(rng, 0.02, 10, 10);
    const sketches = [...once, ...once.map((s) => sketchOf(Float32Array.from(s.cells)))];
    const index = new NearIndex({ distance: 0.02, textSimilarity: 0.7 });
    const entries = sketches.map((sketch) => ({ sketch, point: index.add(sketch) }));
    assert.equal(index.distinct, once.length);
    const removed = new Set(entries.filter((_, i) => i % 3 === 0));
    removed.forEach((e) => index.remove(e.point));
    const kept = entries.filter((e) => !removed.has(e)).map((e) => e.sketch);
    for (const q of sketches) assert.equal(index.countImages(q), kept.filter((s) => imageDistanceWithin(q, s, 0.02)).length);
    entries.filter((e) => !removed.has(e)).forEach((e) => index.remove(e.point));
    assert.equal(index.size, 0);
    assert.equal(index.distinct, 0);
  });

  test('many buckets, then few, then many again: counts still equal a full scan (the occupancy table grows and shrinks)', () => {
    const rng = createRng(13);
    const index = new NearIndex({ distance: 0.02, textSimilarity: 0.7 });
    const check = (held: ImageSketch[], queries: ImageSketch[]): void => {
      for (const q of queries) assert.equal(index.countImages(q), held.filter((s) => imageDistanceWithin(q, s, 0.02)).length);
    };
    const first = clustered(rng, 0.02, 150, 4);
    const entries = first.map((sketch) => ({ sketch, point: index.add(sketch) }));
    assert.ok(index.size > 100, `${index.size} buckets: enough to grow the table several times`);
    check(first, first);
    // Down to a handful of buckets: the table shrinks, and what is left must still be found.
    const kept = entries.slice(0, 6);
    entries.slice(6).forEach((e) => index.remove(e.point));
    check(
      kept.map((e) => e.sketch),
      first,
    );
    const second = clustered(rng, 0.02, 100, 3);
    second.forEach((s) => index.add(s));
    check([...kept.map((e) => e.sketch), ...second], [...first, ...second]);
  });
});

/** The detector as a full scan over a plain list, to check the layer's counts against. */
function referenceCounts(batches: Sketch[][], times: number[], o: { window: number; windowMs: number; distance: number; t: number }) {
  let history: Array<{ sketch: Sketch; time: number }> = [];
  return batches.map((batch, b) => {
    const now = times[b] as number;
    history = history.filter((h) => now - h.time <= o.windowMs);
    return batch.map((q) => {
      let count = 0;
      for (const { sketch } of history) {
        if (q.kind === 'image' && sketch.kind === 'image' && imageDistanceWithin(q, sketch, o.distance)) count++;
        if (q.kind === 'text' && sketch.kind === 'text') {
          if (Math.min(q.words, sketch.words) < o.t * Math.max(q.words, sketch.words)) continue;
          if (textSimilarity(q, sketch) >= o.t) count++;
        }
      }
      history.push({ sketch: q, time: now });
      if (history.length > o.window) history = history.slice(history.length - o.window);
      return count;
    });
  });
}

describe('query-pattern layer with the index', () => {
  test('image batches: per-example counts equal a full scan, through window and time eviction', () => {
    const rng = createRng(5);
    const pool = clustered(rng, 0.02, 12, 12).map((s) => s.cells);
    const o = { window: 60, windowMs: 5_000, distance: 0.02, t: 0.7 };
    let now = 0;
    const layer = queryPatternLayer({ ...o, flagAt: 1e6, denyAt: 1e6, now: () => now });
    const batches: Float32Array[][] = [];
    const times: number[] = [];
    for (let b = 0; b < 80; b++) {
      batches.push(Array.from({ length: 1 + rng.int(12) }, () => pool[rng.int(pool.length)] as Float32Array));
      times.push((now += rng.int(400)));
    }
    const expected = referenceCounts(
      batches.map((batch) => batch.map(sketchOf)),
      times,
      o,
    );
    batches.forEach((batch, b) => {
      now = times[b] as number;
      const x = new Float32Array(batch.length * 49);
      batch.forEach((cells, i) => x.set(cells, i * 49));
      const ctx: GuardContext = {
        clientId: 'c',
        address: '127.0.0.1',
        model: { id: 'm', kind: 'image', inputShape: SHAPE, bounds: BOUNDS, numClasses: 2 },
        body: null,
        batch: { x, count: batch.length, shape: SHAPE },
      };
      const verdict = layer.check(ctx) as { perExample: number[] };
      assert.deepEqual(verdict.perExample, expected[b], `batch ${b}`);
    });
    assert.ok(
      expected.flat().some((c) => c > 3),
      'the traffic must hold repeats',
    );
  });

  test('text batches: per-example counts equal a full scan', () => {
    const rng = createRng(9);
    const base = Array.from({ length: 10 }, (_, k) => Array.from({ length: 12 }, (_, i) => `t${k}w${i}`));
    const text = (): string => {
      const words = [...(base[rng.int(base.length)] as string[])];
      for (let e = rng.int(6); e > 0; e--) words[rng.int(words.length)] = `x${rng.int(50)}`;
      return words.join(' ');
    };
    const o = { window: 40, windowMs: 1e9, distance: 0.02, t: 0.7 };
    const layer = queryPatternLayer({ ...o, textSimilarity: o.t, flagAt: 1e6, denyAt: 1e6, now: () => 0 });
    const batches = Array.from({ length: 40 }, () => Array.from({ length: 1 + rng.int(6) }, text));
    const expected = referenceCounts(
      batches.map((batch) => batch.map((s) => sketchText(s))),
      batches.map(() => 0),
      o,
    );
    batches.forEach((texts, b) => {
      const ctx: GuardContext = {
        clientId: 'c',
        address: '127.0.0.1',
        model: { id: 'm', kind: 'text', inputShape: [], bounds: { min: 0, max: 0 }, numClasses: 2 },
        body: null,
        texts,
      };
      assert.deepEqual((layer.check(ctx) as { perExample: number[] }).perExample, expected[b], `batch ${b}`);
    });
    assert.ok(
      expected.flat().some((c) => c > 3),
      'the traffic must hold repeats',
    );
  });
});

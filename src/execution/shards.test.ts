/**
 * Shards and their seeds: fixed shards that depend only on the row count and shard size,
 * and per-shard seeds that depend only on the seed and the row offset, never on the
 * executor or its number of workers.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { evenRanges, shardRanges, shardSeed } from './shards.js';

describe('sharding and seeds', () => {
  it('cuts fixed shards that do not depend on the worker count', () => {
    assert.deepEqual(shardRanges(150, 64), [
      [0, 64],
      [64, 128],
      [128, 150],
    ]);
    assert.deepEqual(shardRanges(0, 64), []);
    assert.deepEqual(evenRanges(5, 2), [
      [0, 3],
      [3, 5],
    ]);
    assert.deepEqual(evenRanges(1, 4), [[0, 1]]);
  });

  it('keeps the seed for offset 0 and hashes (seed, offset) elsewhere', () => {
    assert.equal(shardSeed(42, 0), 42);
    const seeds = new Set([shardSeed(42, 64), shardSeed(42, 128), shardSeed(43, 64), shardSeed(42 + 64, 64)]);
    assert.equal(seeds.size, 4);
    assert.equal(shardSeed(42, 64), shardSeed(42, 64));
    for (const s of seeds) assert.ok(Number.isInteger(s) && s >= 0 && s < 2 ** 31 - 100_000);
  });
});

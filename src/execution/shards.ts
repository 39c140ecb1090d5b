/**
 * The plain-data payloads and results of the two built-in kinds of shard work (attack and
 * gradients), shared by the code that cuts a batch into shards (main thread) and the
 * handlers that run one shard (a worker or this thread). Structured-clone data only.
 */
import type { ShardBatchContext } from '../training/gradient-sharder.js';
import type { ObjectiveSpec } from '../training/objectives/types.js';
import type { ThreatModel } from '../threats/threat-model.js';

/** The kinds of the built-in shard handlers. */
export const ATTACK_KIND = 'attack';
export const GRADIENTS_KIND = 'gradients';

/** An attack by registered id and options: plain data, so a worker can rebuild it. */
export interface AttackSpec {
  id: string;
  options?: Record<string, unknown>;
}

/** One shard of an attack: rows of inputs, their labels (and targets), the shard's seed. */
export interface AttackShard {
  attackId: string;
  attackOptions: Record<string, unknown>;
  threat: ThreatModel;
  /** Row-major inputs with `shape` (`[rows, ...inputShape]`). */
  x: Float32Array;
  shape: number[];
  labels: Int32Array;
  /** Present for a targeted goal: this shard's targets. */
  targets?: Int32Array;
  seed: number;
  /** Present when these rows are part of a seeded shard split across workers (`RowWindow`). */
  window?: { offset: number; of: number };
}

/** `AttackResult` as plain arrays; `adversarial` is row-major. */
export interface AttackShardResult {
  adversarial: Float32Array;
  success: Uint8Array;
  perturbation: Float32Array;
  queries: Int32Array;
}

/** The batch context a worker's objective sees (its seed is the shard's, see `shardSeed`). */
export type PoolBatchContext = ShardBatchContext;

/** One shard of a training batch: the objective prepares (e.g. attacks) and scores its own rows. */
export interface GradientsShard {
  /** Rebuilt by the gradients handler from its spec. */
  objective: ObjectiveSpec;
  batch: PoolBatchContext;
  x: Float32Array;
  shape: number[];
  labels: Int32Array;
}

export interface GradientsShardResult {
  /** Mean loss over the shard. */
  loss: number;
  count: number;
  /** Gradient of the shard's mean loss, one per `model.trainableWeights` entry, in that order. */
  gradients: Float32Array[];
}

/**
 * Splits `[0, count)` into consecutive shards of at most `size` rows. Shards depend only on
 * `count` and `size`, never on the number of workers, which is what makes seeded results
 * independent of the executor.
 */
export function shardRanges(count: number, size: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let start = 0; start < count; start += size) out.push([start, Math.min(count, start + size)]);
  return out;
}

/** Splits `[0, count)` into `parts` consecutive shards whose sizes differ by at most one (no empty shard). */
export function evenRanges(count: number, parts: number): Array<[number, number]> {
  const k = Math.max(1, Math.min(parts, count));
  const out: Array<[number, number]> = [];
  let start = 0;
  for (let i = 0; i < k; i++) {
    const size = Math.floor(count / k) + (i < count % k ? 1 : 0);
    out.push([start, start + size]);
    start += size;
  }
  return out;
}

/**
 * The seed of the shard that starts at row `offset` of a batch attacked with `seed`.
 * Offset 0 keeps the seed itself, so a batch that fits in one shard gets exactly the
 * result of `attack.run(..., { seed })`; other offsets get a 31-bit hash of
 * (seed, offset) so neighbouring shards and neighbouring batch seeds do not share noise.
 * A pure function of the seed and the row offset: the executor never enters.
 *
 * @example shardSeed(42, 0) === 42; shardSeed(42, 64) !== shardSeed(43, 64)
 */
export function shardSeed(seed: number, offset: number): number {
  if (offset === 0) return seed;
  // splitmix32-style finaliser over both inputs.
  let h = (Math.trunc(seed) ^ Math.imul(offset, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  h = (h ^ (h >>> 16)) >>> 0;
  // Room for the attack loop's own `seed + 7919 * restart` and the L2 start's `seed + 1`.
  return h % 0x7fff0000;
}

/** Zeroed per-row results for `rows` rows of `rowSize` values each. */
export function emptyShardResult(rows: number, rowSize: number): AttackShardResult {
  return {
    adversarial: new Float32Array(rows * rowSize),
    success: new Uint8Array(rows),
    perturbation: new Float32Array(rows),
    queries: new Int32Array(rows),
  };
}

/** Copies a shard's results into `out` at row `start`: shards merge back in row order. */
export function placeShard(out: AttackShardResult, shard: AttackShardResult, start: number, rowSize: number): void {
  out.adversarial.set(shard.adversarial, start * rowSize);
  out.success.set(shard.success, start);
  out.perturbation.set(shard.perturbation, start);
  out.queries.set(shard.queries, start);
}

/** A typed array that owns its whole buffer, so the buffer can be transferred alone. */
export function tight<T extends Float32Array | Int32Array | Uint8Array>(a: T): T {
  return a.byteOffset === 0 && a.byteLength === a.buffer.byteLength ? a : (a.slice() as T);
}

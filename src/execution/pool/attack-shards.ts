/**
 * Attack sharding: a batch is cut into fixed shards of `shardRows` rows, each seeded from
 * the call's seed and its row offset (`shardSeed`), run by whichever worker is free, and
 * merged back in row order. Neither the shards nor their seeds depend on the number of
 * workers, so a seeded attack gives the same result with 1, 2 or 8 workers (or the local
 * executor), and a batch that fits in one shard gives exactly `attack.run(..., { seed })`.
 *
 * With fewer shards than workers, a shard of an attack whose rows are independent (PGD and
 * FGSM with one run: `splittable`) is cut into pieces for the idle workers. Each piece keeps
 * the shard's seed and its place in the shard (`window`), so it draws the shard's random
 * start and its rows come out bit for bit as in the unsplit shard; the shard's queries are
 * its longest piece's (the unsplit loop runs until its last row is done).
 */
import { sizeOf } from '../../core/types.js';
import type { AttackGoal } from '../../attacks/types.js';
import type { ThreatModel } from '../../threats/threat-model.js';
import type { HandlerRegistry, ModelInfo } from '../handlers/registry.js';
import {
  ATTACK_KIND,
  emptyShardResult,
  evenRanges,
  placeShard,
  shardRanges,
  shardSeed,
  type AttackShard,
  type AttackShardResult,
} from '../shards.js';
import type { Group, Scheduler } from './scheduler.js';

export interface PoolProgress {
  /** Rows attacked so far (fractional while shards are running). */
  done: number;
  total: number;
}

export interface PoolAttackRequest {
  attackId: string;
  attackOptions?: Record<string, unknown>;
  threat: ThreatModel;
  /** Row-major inputs, `shape` (default `[labels.length, ...inputShape]`). */
  x: Float32Array;
  shape?: readonly number[];
  labels: Int32Array;
  goal?: AttackGoal;
  /** Global seed; shard `k` starting at row `r` uses `shardSeed(seed, r)`. Default 0. */
  seed?: number;
  /** Overrides the pool's `shardRows` for this call. */
  shardRows?: number;
  onProgress?: (progress: PoolProgress) => void;
}

/** `AttackResult` as plain arrays; `adversarial` is row-major with `shape`. */
export interface PoolAttackResult extends AttackShardResult {
  shape: number[];
}

/** Where the shards of one call go: the pool's queues, its handlers (for the main-thread check) and the model. */
export interface ShardContext {
  scheduler: Scheduler;
  handlers: HandlerRegistry;
  /** The pool's handle id of the model. */
  handle: number;
  model: ModelInfo;
  /** Workers that can take shards at once (1: in this thread). */
  workers: number;
}

/** Attacks whose rows do not interact when they make one run: the gradient-descent loop (see `RowWindow`). */
const SPLITTABLE_ATTACKS: ReadonlySet<string> = new Set(['pgd', 'fgsm']);
/** No piece smaller than this: below it a worker's fixed cost per call outweighs the rows. */
const MIN_PIECE_ROWS = 4;

/**
 * Whether a shard of this attack may be cut into pieces without changing a number (one run,
 * independent rows). Not with EOT: it attacks a randomised model, whose draws follow the
 * batch it is called with.
 */
export function splittable(attackId: string, options: Record<string, unknown>): boolean {
  return SPLITTABLE_ATTACKS.has(attackId) && (options.restarts === undefined || options.restarts === 1) && options.eot === undefined;
}

/** A piece of shard `shard`: rows `[start, end)` of the batch. */
interface Piece {
  shard: number;
  start: number;
  end: number;
}

/** The pieces the shards run as: the shards themselves, or each cut in `ceil(workers / shards)` when workers would idle. */
export function shardPieces(ranges: readonly [number, number][], workers: number, split: boolean): Piece[] {
  const parts = split && ranges.length < workers ? Math.ceil(workers / ranges.length) : 1;
  return ranges.flatMap(([start, end], shard) =>
    evenRanges(end - start, Math.max(1, Math.min(parts, Math.floor((end - start) / MIN_PIECE_ROWS)))).map(([a, b]) => ({
      shard,
      start: start + a,
      end: start + b,
    })),
  );
}

/**
 * Checks the whole request with the attack handler (typed errors before any work), then
 * runs its shards on the pool and merges them.
 */
export async function runAttackShards(ctx: ShardContext, request: PoolAttackRequest, shardRows: number): Promise<PoolAttackResult> {
  const n = request.labels.length;
  const shape = [...(request.shape ?? [n, ...ctx.model.inputShape])];
  const rowSize = sizeOf(ctx.model.inputShape);
  const goal = request.goal ?? { kind: 'untargeted' };
  const whole: AttackShard = {
    attackId: request.attackId,
    attackOptions: request.attackOptions ?? {},
    threat: request.threat,
    x: request.x,
    shape,
    labels: request.labels,
    ...(goal.kind === 'targeted' ? { targets: goal.targets } : {}),
    seed: request.seed ?? 0,
  };
  await ctx.handlers.get<AttackShard, AttackShardResult>(ATTACK_KIND).check?.(whole, ctx.model);
  if (n === 0 && shape[0] === 0) return { ...emptyShardResult(0, rowSize), shape };
  const ranges = shardRanges(n, shardRows);
  const pieces = shardPieces(ranges, ctx.workers, splittable(whole.attackId, whole.attackOptions));
  const progress = new Float64Array(pieces.length);
  const report = (): void => request.onProgress?.({ done: progress.reduce((s, v) => s + v, 0), total: n });
  const group: Group = { failed: false };
  const results = await Promise.all(
    pieces.map(async ({ shard: k, start, end }, p) => {
      const [shardStart, shardEnd] = ranges[k] as [number, number];
      const x = request.x.slice(start * rowSize, end * rowSize);
      const entire = end - start === shardEnd - shardStart;
      const shard: AttackShard = {
        ...whole,
        x,
        shape: [end - start, ...shape.slice(1)],
        labels: request.labels.slice(start, end),
        ...(whole.targets ? { targets: whole.targets.slice(start, end) } : {}),
        seed: shardSeed(whole.seed, shardStart),
        ...(entire ? {} : { window: { offset: start - shardStart, of: shardEnd - shardStart } }),
      };
      const onProgress = (done: number, total: number): void => {
        progress[p] = ((end - start) * done) / Math.max(1, total);
        report();
      };
      const run = { op: 'run' as const, kind: ATTACK_KIND, handle: ctx.handle, payload: shard };
      const result = (await ctx.scheduler.submitShared(run, [x.buffer], group, onProgress)) as AttackShardResult;
      progress[p] = end - start;
      report();
      return result;
    }),
  );
  const out: PoolAttackResult = { ...emptyShardResult(n, rowSize), shape };
  pieces.forEach(({ start }, p) => placeShard(out, results[p] as AttackShardResult, start, rowSize));
  // A split shard's rows all spent what its longest piece spent, as they would unsplit.
  for (const [start, end] of ranges) {
    if (pieces.filter((piece) => piece.start >= start && piece.end <= end).length < 2) continue;
    const rows = out.queries.subarray(start, end);
    rows.fill(rows.reduce((m, q) => Math.max(m, q), 0));
  }
  return out;
}

/**
 * Attack sharding: a batch is cut into fixed shards of `shardRows` rows, each seeded from
 * the call's seed and its row offset (`shardSeed`), run by whichever worker is free, and
 * merged back in row order. Neither the shards nor their seeds depend on the number of
 * workers, so a seeded attack gives the same result with 1, 2 or 8 workers (or the local
 * executor), and a batch that fits in one shard gives exactly `attack.run(..., { seed })`.
 */
import { sizeOf } from '../../core/types.js';
import type { AttackGoal } from '../../attacks/types.js';
import type { ThreatModel } from '../../threats/threat-model.js';
import type { HandlerRegistry, ModelInfo } from '../handlers/registry.js';
import { ATTACK_KIND, emptyShardResult, placeShard, shardRanges, shardSeed, type AttackShard, type AttackShardResult } from '../shards.js';
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
  const progress = new Float64Array(ranges.length);
  const report = (): void => request.onProgress?.({ done: progress.reduce((s, v) => s + v, 0), total: n });
  const group: Group = { failed: false };
  const results = await Promise.all(
    ranges.map(async ([start, end], k) => {
      const x = request.x.slice(start * rowSize, end * rowSize);
      const shard: AttackShard = {
        ...whole,
        x,
        shape: [end - start, ...shape.slice(1)],
        labels: request.labels.slice(start, end),
        ...(whole.targets ? { targets: whole.targets.slice(start, end) } : {}),
        seed: shardSeed(whole.seed, start),
      };
      const onProgress = (done: number, total: number): void => {
        progress[k] = ((end - start) * done) / Math.max(1, total);
        report();
      };
      const run = { op: 'run' as const, kind: ATTACK_KIND, handle: ctx.handle, payload: shard };
      const result = (await ctx.scheduler.submitShared(run, [x.buffer], group, onProgress)) as AttackShardResult;
      progress[k] = end - start;
      report();
      return result;
    }),
  );
  const out: PoolAttackResult = { ...emptyShardResult(n, rowSize), shape };
  ranges.forEach(([start], k) => placeShard(out, results[k] as AttackShardResult, start, rowSize));
  return out;
}

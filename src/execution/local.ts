/**
 * The local executor: runs rows of work in this thread, on the caller's classifier (any
 * kind, defence wrappers included), in the same shards and with the same per-shard seeds
 * as the worker pool, through the same shard runner, so its numbers are the pool's.
 */
import { gatherRowValues } from '../core/tensors.js';
import { sizeOf } from '../core/types.js';
import type { Classifier } from '../models/classifier.js';
import { TfjsClassifier } from '../models/tfjs-classifier.js';
import { isAttack, rowLabels, type ExecutionInfo, type Executor, type ExecutorSession } from './executor.js';
import type { RowsResult, RowsWork } from './executor.js';
import type { HandlerRegistry } from './handlers/registry.js';
import { runAttackShard } from './run-attack-shard.js';
import { ATTACK_KIND, emptyShardResult, placeShard, shardRanges, shardSeed, type AttackShard, type AttackShardResult } from './shards.js';

/** A session that runs every shard in this thread, one after another. */
export class LocalSession implements ExecutorSession {
  readonly execution: ExecutionInfo;

  constructor(
    private readonly model: Classifier,
    shardRows: number,
    private readonly handlers: HandlerRegistry,
  ) {
    this.execution = { workers: 1, shardRows };
  }

  async runRows(work: RowsWork): Promise<RowsResult> {
    const { data, rows } = work;
    const n = rows.length;
    const rowSize = sizeOf(data.shape);
    const out = emptyShardResult(n, rowSize);
    const target = { classifier: this.model, ...(this.model instanceof TfjsClassifier ? { model: this.model.model } : {}) };
    for (const [start, end] of shardRanges(n, this.execution.shardRows)) {
      const shardRows = rows.slice(start, end);
      const shard: AttackShard = {
        attackId: work.attack.id,
        attackOptions: isAttack(work.attack) ? {} : (work.attack.options ?? {}),
        threat: work.threat,
        x: gatherRowValues(data, shardRows),
        shape: [end - start, ...data.shape],
        labels: rowLabels(data, shardRows),
        ...(work.targets ? { targets: work.targets.slice(start, end) } : {}),
        seed: shardSeed(work.seed, start),
      };
      const onProgress = (done: number, total: number): void => work.onProgress?.(start + ((end - start) * done) / Math.max(1, total), n);
      const result = isAttack(work.attack)
        ? await runAttackShard(work.attack, this.model, shard, onProgress)
        : await this.handlers.get<AttackShard, AttackShardResult>(ATTACK_KIND).run(target, shard, onProgress);
      placeShard(out, result, start, rowSize);
      work.onProgress?.(end, n);
    }
    return out;
  }

  async close(): Promise<void> {
    // Nothing was copied: the caller's model stays the caller's.
  }
}

/** An executor that runs everything in this thread. Create it with `localExecutor()`. */
export class LocalExecutor implements Executor {
  constructor(
    readonly shardRows: number,
    private readonly handlers: HandlerRegistry,
  ) {}

  async open(model: Classifier): Promise<ExecutorSession> {
    return new LocalSession(model, this.shardRows, this.handlers);
  }
}

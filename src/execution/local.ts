/**
 * The local executor: runs rows of work in this thread, on the caller's classifier (any
 * kind, defence wrappers included), in the same shards and with the same per-shard seeds
 * as the worker pool, through the same shard runner, so its numbers are the pool's. A
 * saved text filter is loaded here from its directory, as a queue worker loads it.
 */
import { UsageError } from '../core/errors.js';
import { gatherRowValues } from '../core/tensors.js';
import { sizeOf } from '../core/types.js';
import { loadSavedTextFilter } from '../defenses/normalize-text/saved-filter.js';
import type { Classifier } from '../models/classifier.js';
import { TfjsClassifier } from '../models/tfjs-classifier.js';
import {
  isAttack,
  isTextFilterModel,
  rowLabels,
  shardRowCounts,
  type ExecutionInfo,
  type ExecutionModel,
  type Executor,
  type ExecutorSession,
  type ShardsWork,
} from './executor.js';
import type { RowsResult, RowsWork } from './executor.js';
import type { AnyShardTarget, HandlerRegistry } from './handlers/registry.js';
import { runAttackShard } from './run-attack-shard.js';
import { ATTACK_KIND, emptyShardResult, placeShard, shardRanges, shardSeed, type AttackShard, type AttackShardResult } from './shards.js';

/** @throws UsageError `E_EXECUTOR_MODEL`: rows of attack work need a classifier. */
export function needsClassifier(): never {
  throw new UsageError(
    'E_EXECUTOR_MODEL',
    'This executor session holds a saved text filter; attack rows need a classifier. Open the session with the classifier instead.',
  );
}

/**
 * Runs shards of `work.kind` one after another in this thread against `target`, checking
 * each first as a pool or queue checks the request (`model` is the classifier, if any).
 */
export async function runShardsHere<P, R>(
  handlers: HandlerRegistry,
  target: AnyShardTarget,
  model: Classifier | undefined,
  work: ShardsWork<P>,
): Promise<R[]> {
  const handler = handlers.get<P, R>(work.kind);
  if (model) for (const shard of work.shards) await handler.check?.(shard, model);
  const rows = shardRowCounts(work);
  const total = rows.reduce((s, r) => s + r, 0);
  const out: R[] = [];
  let before = 0;
  for (const [k, shard] of work.shards.entries()) {
    const size = rows[k] as number;
    const onProgress = (done: number, of: number): void => work.onProgress?.(before + (size * done) / Math.max(1, of), total);
    out.push(await handler.run(target, shard, onProgress));
    before += size;
    work.onProgress?.(before, total);
  }
  return out;
}

/** A model loaded for this session (a saved text filter): what shards run against, and how to free it. */
export interface LoadedTarget {
  target: AnyShardTarget;
  release(): void;
}

function isLoaded(model: Classifier | LoadedTarget): model is LoadedTarget {
  return 'target' in model && 'release' in model && typeof model.release === 'function';
}

/** A session that runs every shard in this thread, one after another. */
export class LocalSession implements ExecutorSession {
  readonly execution: ExecutionInfo;
  private readonly target: AnyShardTarget;

  /** `model` is the caller's classifier (not copied), or a target loaded for this session (released on close). */
  constructor(
    private readonly model: Classifier | LoadedTarget,
    shardRows: number,
    private readonly handlers: HandlerRegistry,
  ) {
    this.execution = { workers: 1, shardRows };
    this.target = isLoaded(model)
      ? model.target
      : { classifier: model, ...(model instanceof TfjsClassifier ? { model: model.model } : {}) };
  }

  private get classifier(): Classifier | undefined {
    return isLoaded(this.model) ? undefined : this.model;
  }

  runShards<P, R>(work: ShardsWork<P>): Promise<R[]> {
    return runShardsHere<P, R>(this.handlers, this.target, this.classifier, work);
  }

  async runRows(work: RowsWork): Promise<RowsResult> {
    const model = this.classifier ?? needsClassifier();
    const { data, rows } = work;
    const n = rows.length;
    const rowSize = sizeOf(data.shape);
    const out = emptyShardResult(n, rowSize);
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
        ? await runAttackShard(work.attack, model, shard, onProgress)
        : await this.handlers.get<AttackShard, AttackShardResult>(ATTACK_KIND).run(this.target, shard, onProgress);
      placeShard(out, result, start, rowSize);
      work.onProgress?.(end, n);
    }
    return out;
  }

  async close(): Promise<void> {
    // A classifier was not copied: the caller's model stays the caller's. A text filter was loaded here.
    if (isLoaded(this.model)) this.model.release();
  }
}

/**
 * A session in this thread for `model`: a classifier as it is, a saved text filter loaded from its directory.
 *
 * @throws DataError from `loadSavedTextFilter` for a directory that holds no saved text filter.
 */
export async function openHere(model: ExecutionModel, shardRows: number, handlers: HandlerRegistry): Promise<LocalSession> {
  if (!isTextFilterModel(model)) return new LocalSession(model, shardRows, handlers);
  const saved = await loadSavedTextFilter(model.dir);
  return new LocalSession({ target: { text: saved.filter }, release: () => saved.model.dispose() }, shardRows, handlers);
}

/** An executor that runs everything in this thread. Create it with `localExecutor()`. */
export class LocalExecutor implements Executor {
  constructor(
    readonly shardRows: number,
    private readonly handlers: HandlerRegistry,
  ) {}

  async open(model: ExecutionModel): Promise<ExecutorSession> {
    return openHere(model, this.shardRows, this.handlers);
  }
}

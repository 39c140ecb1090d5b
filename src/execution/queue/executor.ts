/**
 * The queue executor: rows of work cut into the same shards, with the same seeds, as the
 * local executor and the worker pool, each shard a BullMQ job on Redis that any
 * `rampart worker` of the same backend may run. The model and each shard's data slice are
 * published by content digest (see `artifacts.ts`); jobs carry only references, ids,
 * options, the threat and the seed. Results are the local executor's, bit for bit, however
 * many workers there are and however often a shard is retried.
 */
import { randomUUID } from 'node:crypto';
import { Queue, QueueEvents } from 'bullmq';
import { EngineError, UsageError } from '../../core/errors.js';
import { gatherRowValues } from '../../core/tensors.js';
import { sizeOf } from '../../core/types.js';
import { engineInfo, initEngine } from '../../engine/backend.js';
import type { Classifier } from '../../models/classifier.js';
import {
  DEFAULT_SHARD_ROWS,
  isAttack,
  isTextFilterModel,
  rowLabels,
  shardRowCounts,
  type ExecutionInfo,
  type ExecutionModel,
  type Executor,
  type ExecutorSession,
  type RowsResult,
  type RowsWork,
  type ShardsWork,
} from '../executor.js';
import { defaultHandlers } from '../handlers/index.js';
import type { HandlerRegistry } from '../handlers/registry.js';
import { needsClassifier, openHere } from '../local.js';
import { ATTACK_KIND, emptyShardResult, placeShard, shardRanges, shardSeed, type AttackShard, type AttackShardResult } from '../shards.js';
import { ArtifactPublisher, redisOf } from './artifacts.js';
import { JOB_VERSION, jobId, MAX_SKELETON_CHARS, type ShardJob } from './job.js';
import { encodeModel, type ModelRef } from './models.js';
import {
  keys,
  parseQueueOptions,
  queueExecutorSchema,
  queueName,
  redactUrl,
  redisConnection,
  type QueueExecutorConfig,
  type QueueExecutorOptions,
} from './options.js';
import { packBlob, splitArrays } from './pack.js';
import { ShardTracker, type RunState } from './tracker.js';

export class QueueExecutor implements Executor {
  private readonly queue: Queue;
  private events: QueueEvents | undefined;
  private tracker!: ShardTracker;
  private readonly publisher: ArtifactPublisher;
  private readonly runs = new Set<RunState>();
  private closed = false;

  /** @internal Use `createQueueExecutor`. */
  constructor(
    readonly config: QueueExecutorConfig,
    readonly backend: string,
    readonly shardRows: number,
    private readonly handlers: HandlerRegistry,
  ) {
    const connection = redisConnection(config.url);
    this.queue = new Queue(queueName(backend), { connection, prefix: config.prefix });
    // Connection errors are the tracker's watchdog's business; an unhandled 'error' would end the process.
    this.queue.on('error', () => {});
    this.publisher = new ArtifactPublisher(() => this.queue.client, config.prefix, config.artifactTtlSeconds);
  }

  /**
   * @internal Connects, then starts listening to the job events (before the first job is
   * added). The event reader is made only once Redis answers: one that never connected cannot be closed.
   */
  async start(): Promise<void> {
    await this.deadline(this.queue.waitUntilReady(), 'connecting');
    const events = new QueueEvents(queueName(this.backend), { connection: redisConnection(this.config.url), prefix: this.config.prefix });
    events.on('error', () => {});
    this.events = events;
    this.tracker = new ShardTracker(this.queue, events, this.config);
    await this.deadline(events.waitUntilReady(), 'connecting');
  }

  /**
   * `work`, or `E_QUEUE_CONNECTION` after `connectionTimeoutMs`: commands wait for Redis to
   * come back (so a restart is survived), and this is where waiting ends.
   */
  private async deadline<T>(work: Promise<T>, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const ms = this.config.connectionTimeoutMs;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new EngineError(
              'E_QUEUE_CONNECTION',
              `Redis at ${redactUrl(this.config.url)} did not answer within ${ms} ms while ${what}; check that it runs and is reachable.`,
              {
                details: { timeoutMs: ms, url: redactUrl(this.config.url) },
              },
            ),
          ),
        ms,
      );
    });
    try {
      return await Promise.race([work, expired]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Shards enqueued again because Redis lost them (a restart without persistence), since this executor started. */
  get resubmitted(): number {
    return this.tracker.resubmitted;
  }

  /** Workers connected to this backend's queue now (BullMQ's worker registry). */
  workers(): Promise<number> {
    return this.queue.getWorkersCount();
  }

  /**
   * Binds `model`: publishes it by digest. A classifier no codec can ship (a defence
   * wrapper) runs in this thread, in the same shards with the same seeds, as the pool does.
   *
   * @throws EngineError `E_QUEUE_CLOSED`; UsageError `E_QUEUE_PAYLOAD_SIZE` for a model above `maxModelBytes`.
   */
  async open(model: ExecutionModel): Promise<ExecutorSession> {
    this.assertOpen();
    const encoded = await encodeModel(model);
    if (!encoded) return openHere(model, this.shardRows, this.handlers);
    const name = isTextFilterModel(model) ? `Text filter ${model.dir}` : `Model '${model.id}'`;
    const publishModel = async (force: boolean): Promise<ModelRef> => ({
      kind: encoded.kind,
      digest: await this.deadline(this.publisher.publish(encoded.bytes, this.config.maxModelBytes, name, force), 'publishing the model'),
    });
    await publishModel(false);
    const workers = await this.workers().catch(() => 0);
    const execution: ExecutionInfo = { workers: Math.max(1, workers), shardRows: this.shardRows };
    return {
      execution,
      runRows: async (work) => this.runRows(isTextFilterModel(model) ? needsClassifier() : model, publishModel, work),
      runShards: async <P, R>(work: ShardsWork<P>) =>
        this.runShards<P, R>(isTextFilterModel(model) ? undefined : model, publishModel, work),
      close: async () => {},
    };
  }

  /**
   * Cancels every run in flight: their queued jobs are removed, jobs being run are told to
   * stop (a cancel key their workers check), and each run rejects with `E_QUEUE_CANCELLED`.
   */
  async cancel(reason = 'the run was cancelled'): Promise<void> {
    await Promise.all(
      [...this.runs].map((run) => this.cancelRun(run, new EngineError('E_QUEUE_CANCELLED', `Queue run ${run.id} stopped: ${reason}.`))),
    );
  }

  /** Cancels what is in flight and disconnects. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.cancel('the queue executor was closed').catch(() => {});
    this.closed = true;
    this.tracker.dropAll(new EngineError('E_QUEUE_CLOSED', 'The queue executor was closed.'));
    await Promise.allSettled([this.events?.close(), this.queue.close()]);
  }

  /** @internal Closes what a start that could not connect opened. */
  async abandon(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([this.events?.close(), this.queue.close()]);
  }

  private assertOpen(): void {
    if (this.closed) throw new EngineError('E_QUEUE_CLOSED', 'The queue executor was closed; create a new one with createQueueExecutor.');
  }

  private async runRows(model: Classifier, publishModel: (force: boolean) => Promise<ModelRef>, work: RowsWork): Promise<RowsResult> {
    this.assertOpen();
    const { attack, data, rows } = work;
    if (isAttack(attack)) {
      throw new UsageError(
        'E_QUEUE_ATTACK',
        `Attack '${attack.id}' was given as an object; queue workers rebuild attacks from their id and options, so pass { id, options }.`,
      );
    }
    const n = rows.length;
    const rowSize = sizeOf(data.shape);
    const whole: AttackShard = {
      attackId: attack.id,
      attackOptions: attack.options ?? {},
      threat: work.threat,
      x: gatherRowValues(data, rows),
      shape: [n, ...data.shape],
      labels: rowLabels(data, rows),
      ...(work.targets ? { targets: work.targets } : {}),
      seed: work.seed,
    };
    // Typed errors for bad ids, options or inputs before anything is enqueued.
    await this.handlers.get<AttackShard, AttackShardResult>(ATTACK_KIND).check?.(whole, model);
    const out = emptyShardResult(n, rowSize);
    if (n === 0) return out;
    const ranges = shardRanges(n, this.shardRows);
    const shards = ranges.map(([start, end]): AttackShard => ({
      ...whole,
      x: whole.x.slice(start * rowSize, end * rowSize),
      shape: [end - start, ...whole.shape.slice(1)],
      labels: whole.labels.slice(start, end),
      ...(whole.targets ? { targets: whole.targets.slice(start, end) } : {}),
      seed: shardSeed(whole.seed, start),
    }));
    const results = await this.runJobs<AttackShard, AttackShardResult>(publishModel, {
      kind: ATTACK_KIND,
      shards,
      rows: ranges.map(([start, end]) => end - start),
      ...(work.onProgress ? { onProgress: work.onProgress } : {}),
    });
    ranges.forEach(([start], k) => placeShard(out, results[k] as AttackShardResult, start, rowSize));
    return out;
  }

  /** Shards of any registered kind, checked here (with the classifier, when the model is one), then enqueued. */
  private async runShards<P, R>(
    model: Classifier | undefined,
    publishModel: (force: boolean) => Promise<ModelRef>,
    work: ShardsWork<P>,
  ): Promise<R[]> {
    this.assertOpen();
    const handler = this.handlers.get<P, R>(work.kind);
    if (model) for (const shard of work.shards) await handler.check?.(shard, model);
    if (work.shards.length === 0) return [];
    return this.runJobs<P, R>(publishModel, work);
  }

  /** One job per shard, results in shard order; the first failure cancels the run's other jobs. */
  private async runJobs<P, R>(publishModel: (force: boolean) => Promise<ModelRef>, work: ShardsWork<P>): Promise<R[]> {
    // Publishes again only when the last write is a quarter of the TTL old: a long session keeps its model alive.
    const ref = await publishModel(false);
    const rows = shardRowCounts(work);
    const total = rows.reduce((sum, r) => sum + r, 0);
    const starts = rows.map((_, k) => rows.slice(0, k).reduce((sum, r) => sum + r, 0));
    const run: RunState = {
      id: randomUUID().replace(/-/g, ''),
      settled: false,
      progress: new Float64Array(rows.length),
      report: () =>
        work.onProgress?.(
          run.progress.reduce((sum, v) => sum + v, 0),
          total,
        ),
    };
    this.runs.add(run);
    try {
      return await Promise.all(
        work.shards.map((payload, k) =>
          this.submitShard<R>(run, ref, publishModel, work.kind, payload, k, [
            starts[k] as number,
            (starts[k] as number) + (rows[k] as number),
          ]),
        ),
      );
    } catch (error) {
      await this.cancelRun(run, new EngineError('E_QUEUE_CANCELLED', `Cancelled: another shard of queue run ${run.id} failed.`));
      throw error;
    } finally {
      this.runs.delete(run);
    }
  }

  private async submitShard<R>(
    run: RunState,
    ref: ModelRef,
    publishModel: (force: boolean) => Promise<ModelRef>,
    kind: string,
    payload: unknown,
    k: number,
    [start, end]: [number, number],
  ): Promise<R> {
    const { skeleton, arrays } = splitArrays(payload);
    if (JSON.stringify(skeleton ?? null).length > MAX_SKELETON_CHARS) {
      throw new UsageError(
        'E_QUEUE_PAYLOAD_SIZE',
        `The plain-data part of a '${kind}' shard (ids, options, texts) is above 64 KiB as JSON; pass smaller options or use smaller shards.`,
      );
    }
    const blob = packBlob(arrays);
    const publishData = (force: boolean): Promise<string> =>
      this.deadline(this.publisher.publish(blob, this.config.maxPayloadBytes, `The data of shard ${k}`, force), 'publishing data');
    const job: ShardJob = {
      v: JOB_VERSION,
      kind,
      model: ref,
      payload: skeleton,
      data: { digest: await publishData(false), bytes: blob.length },
      run: run.id,
      shard: k,
      rows: [start, end],
    };
    const id = jobId(run.id, k);
    const add = (): Promise<unknown> =>
      this.deadline(
        this.queue.add(kind, job, {
          jobId: id,
          attempts: this.config.attempts,
          backoff: { type: 'fixed', delay: this.config.backoffMs },
          removeOnComplete: true,
          removeOnFail: { age: this.config.artifactTtlSeconds },
        }),
        'enqueueing',
      );
    const result = new Promise<unknown>((resolve, reject) => {
      this.tracker.track({
        id,
        run,
        index: k,
        rows: end - start,
        enqueuedAt: Date.now(),
        resolve,
        reject,
        resubmit: async () => {
          this.publisher.forget();
          await publishModel(true);
          await publishData(true);
          await add();
        },
      });
    });
    // The tracker may reject (cancel, watchdog) while the job is still being added.
    result.catch(() => {});
    await add();
    const value = (await result) as R;
    run.progress[k] = end - start;
    run.report();
    return value;
  }

  private async cancelRun(run: RunState, error: Error): Promise<void> {
    if (run.settled) return;
    run.settled = true;
    const ids = this.tracker.drop(run, error);
    if (ids.length === 0) return;
    try {
      const client = await redisOf(this.queue.client);
      await client.set(keys.cancel(this.config.prefix, run.id), '1', 'EX', this.config.artifactTtlSeconds);
      // A job a worker holds is locked and stays; the cancel key stops it from being retried.
      await Promise.all(ids.map((id) => this.queue.remove(id).catch(() => 0)));
    } catch {
      // Redis unreachable: the jobs expire with their run's cancel key unset; nothing else to do.
    }
  }
}

/**
 * Connects to the queue at `options.url` for this process's TF.js backend (started with
 * `initEngine()` if needed): workers of that backend run its shards.
 *
 * @throws UsageError `E_QUEUE_URL` / `E_QUEUE_OPTION` for bad options.
 * @example
 * const queue = await createQueueExecutor({ url: 'redis://127.0.0.1:6379' });
 * try { await evaluateRobustness({ ..., pool: queue }); } finally { await queue.close(); }
 */
export async function createQueueExecutor(
  options: QueueExecutorOptions,
  handlers: HandlerRegistry = defaultHandlers(),
): Promise<QueueExecutor> {
  const config = parseQueueOptions(queueExecutorSchema, options, 'Queue executor');
  redisConnection(config.url);
  const backend = (engineInfo() ?? (await initEngine())).backend;
  const executor = new QueueExecutor(config, backend, config.shardRows ?? DEFAULT_SHARD_ROWS, handlers);
  try {
    await executor.start();
  } catch (error) {
    // Closing waits for a connection that never opened; drop it instead.
    await executor.abandon();
    throw error;
  }
  return executor;
}

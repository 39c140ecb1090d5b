/**
 * The coordinator's book of shards in flight: each waits for its job's result. Completion
 * comes from BullMQ's event stream (QueueEvents) and, as a safety net, from a sweep that
 * asks Redis about every pending job every `sweepMs`: a missed event, a job Redis lost in
 * a restart (re-published and re-enqueued: shards are deterministic, so a re-run changes
 * nothing), a shard past its timeout, or Redis unreachable past the connection timeout.
 */
import type { Queue, QueueEvents } from 'bullmq';
import { EngineError, RampartError } from '../../core/errors.js';
import { redisOf } from './artifacts.js';
import { decodeJobError } from './job.js';
import { keys, type QueueExecutorConfig } from './options.js';
import { unpackValue } from './pack.js';

/** One run (a `runRows` call): when a shard fails, the others are cancelled. */
export interface RunState {
  id: string;
  settled: boolean;
  /** Progress of each shard, in rows. */
  progress: Float64Array;
  report(): void;
}

export interface PendingShard {
  id: string;
  run: RunState;
  index: number;
  rows: number;
  enqueuedAt: number;
  /** Publishes the shard's artifacts again and adds its job again (after Redis lost them). */
  resubmit(): Promise<void>;
  resolve(result: unknown): void;
  reject(error: Error): void;
  /** Being fetched or failed: a second event for it is ignored. */
  busy?: boolean;
}

/** Re-enqueueing a lost shard more often than this means Redis keeps losing data: fail. */
const MAX_RESUBMITS = 5;

export class ShardTracker {
  private readonly pending = new Map<string, PendingShard & { resubmits: number }>();
  private timer: NodeJS.Timeout | undefined;
  private sweeping = false;
  private lastContact = Date.now();
  /** Shards enqueued again after Redis lost them (what a restart cost), for reports and tests. */
  resubmitted = 0;

  constructor(
    private readonly queue: Queue,
    events: QueueEvents,
    private readonly config: QueueExecutorConfig,
  ) {
    events.on('completed', ({ jobId }) => this.touch() && void this.collect(jobId));
    events.on('failed', ({ jobId }) => this.touch() && void this.checkFailed(jobId));
    events.on('progress', ({ jobId, data }) => {
      this.touch();
      const p = this.pending.get(jobId);
      const d = data as { done?: unknown; total?: unknown };
      if (!p || typeof d?.done !== 'number' || typeof d.total !== 'number' || d.total <= 0) return;
      p.run.progress[p.index] = (p.rows * Math.min(d.done, d.total)) / d.total;
      p.run.report();
    });
  }

  get size(): number {
    return this.pending.size;
  }

  /** Registers a shard before its job is added, so no event for it can be missed. */
  track(shard: PendingShard): void {
    this.pending.set(shard.id, { ...shard, resubmits: 0 });
    this.lastContact = Date.now();
    this.timer ??= setInterval(() => void this.sweep(), Math.min(this.config.sweepMs, 1000)).unref();
  }

  /** Stops tracking every shard of `run` (rejecting each with `error`) and returns their job ids. */
  drop(run: RunState, error: Error): string[] {
    const ids: string[] = [];
    for (const [id, p] of this.pending) {
      if (p.run !== run) continue;
      this.pending.delete(id);
      ids.push(id);
      p.reject(error);
    }
    this.idle();
    return ids;
  }

  /** Rejects everything (the executor is closing). */
  dropAll(error: Error): void {
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
    this.idle();
  }

  private touch(): true {
    this.lastContact = Date.now();
    return true;
  }

  private idle(): void {
    if (this.pending.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private settle(id: string, outcome: { result: unknown } | { error: Error }): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    this.idle();
    if ('error' in outcome) p.reject(outcome.error);
    else p.resolve(outcome.result);
  }

  /** Reads a finished shard's result; a missing result means the job is lost, so it is enqueued again. */
  private async collect(id: string): Promise<void> {
    const p = this.pending.get(id);
    if (!p || p.busy) return;
    p.busy = true;
    try {
      const client = await redisOf(this.queue.client);
      const key = keys.result(this.config.prefix, id);
      const bytes = await client.getBuffer(key);
      this.touch();
      if (!bytes) {
        await this.lost(p);
        return;
      }
      const result = unpackValue(bytes);
      client.del(key).catch(() => {});
      this.settle(id, { result });
    } catch (error) {
      this.settle(id, { error: error instanceof Error ? error : new Error(String(error)) });
    } finally {
      p.busy = false;
    }
  }

  /**
   * A 'failed' event also comes for attempts that will be retried; only a job in the failed
   * state ends the run. A job that failed because its artifacts were gone was added to a Redis
   * that restarted after they were published: it is lost like any other, so it goes again.
   */
  private async checkFailed(id: string): Promise<void> {
    const p = this.pending.get(id);
    if (!p || p.busy) return;
    p.busy = true;
    try {
      const job = await this.queue.getJob(id).catch(() => undefined);
      if (!job || !(await job.isFailed().catch(() => false))) return;
      const error = decodeJobError(job.failedReason, id, job.attemptsMade);
      if (error instanceof RampartError && error.code === 'E_QUEUE_ARTIFACT_MISSING') {
        // The failed job keeps its id; it must go before the same id can be added again.
        await job.remove();
        await this.lost(p);
        return;
      }
      this.settle(id, { error });
    } catch (error) {
      this.settle(id, { error: error instanceof Error ? error : new Error(String(error)) });
    } finally {
      p.busy = false;
    }
  }

  private async lost(p: PendingShard & { resubmits: number }): Promise<void> {
    if (++p.resubmits > MAX_RESUBMITS) {
      this.settle(p.id, {
        error: new EngineError(
          'E_QUEUE_LOST',
          `Queue job ${p.id} was lost ${MAX_RESUBMITS} times (Redis restarting or evicting keys); give Redis persistence and maxmemory-policy noeviction.`,
          { details: { jobId: p.id } },
        ),
      });
      return;
    }
    this.resubmitted++;
    await p.resubmit();
  }

  /** Checks every pending shard against Redis; the watchdog for timeouts and a lost connection. */
  private async sweep(): Promise<void> {
    const now = Date.now();
    if (now - this.lastContact > this.config.connectionTimeoutMs) {
      const error = new EngineError(
        'E_QUEUE_CONNECTION',
        `Redis at the queue URL has not answered for ${Math.round((now - this.lastContact) / 1000)} s; check that it runs and is reachable, then rerun.`,
        { details: { timeoutMs: this.config.connectionTimeoutMs } },
      );
      this.dropAll(error);
      return;
    }
    for (const p of this.pending.values()) {
      if (now - p.enqueuedAt > this.config.shardTimeoutMs) {
        const workers = await this.queue.getWorkersCount().catch(() => -1);
        this.settle(p.id, {
          error: new EngineError(
            'E_QUEUE_TIMEOUT',
            `Queue job ${p.id} did not finish within ${this.config.shardTimeoutMs} ms (${workers < 0 ? 'unknown number of' : workers} workers connected); start workers with 'rampart worker --queue URL' or raise shardTimeoutMs.`,
            { details: { jobId: p.id, workers } },
          ),
        });
      }
    }
    if (this.sweeping || now - this.lastSweep < this.config.sweepMs) return;
    this.sweeping = true;
    this.lastSweep = now;
    try {
      for (const p of [...this.pending.values()]) {
        if (p.busy || !this.pending.has(p.id)) continue;
        const state = await this.queue.getJobState(p.id);
        this.touch();
        if (state === 'failed') await this.checkFailed(p.id);
        // Completed jobs are removed at once, so 'unknown' is either done (result key present) or lost.
        else if (state === 'completed' || state === 'unknown') await this.collect(p.id);
      }
    } catch {
      // Unreachable Redis: the watchdog above decides when to give up.
    } finally {
      this.sweeping = false;
    }
  }

  private lastSweep = Date.now();
}

/**
 * The pool's job queues: one queue per worker (model state every worker must see, in
 * order) and one shared queue (shards any free worker may take). A worker gets the older
 * of its own queue's head and the shared queue's head, so each worker sees requests in
 * the order they were made. Failures come back as typed `EngineError`s.
 */
import { EngineError } from '../../core/errors.js';
import type { PoolRequest, PoolResponse } from './protocol.js';
import type { ProgressSink } from './runtime.js';
import { WorkerExit, WorkerFailure, type Transport } from './transport.js';

/** The shards of one call: when one fails, the rest still queued are cancelled. */
export interface Group {
  failed: boolean;
}

export interface Job {
  seq: number;
  request: PoolRequest;
  transfer: ArrayBuffer[];
  resolve: (value: PoolResponse) => void;
  reject: (error: Error) => void;
  onProgress?: ProgressSink;
  group?: Group;
}

export interface Slot {
  index: number;
  state: 'starting' | 'ready' | 'dead';
  transport?: Transport;
  current?: Job;
  queue: Job[];
  /** Consecutive failed starts; the supervisor gives the slot up after a few. */
  failures: number;
  /** The running start (or restart), awaited by close(). */
  starting?: Promise<void>;
  /** Why the slot is dead: the last start's error, and the typed error its jobs get. */
  deadCause?: Error;
  deadError?: EngineError;
}

/** Ops whose effect a replaced worker gets from the replay of the pool's model state. */
export const STATE_OPS = new Set<PoolRequest['op']>(['load', 'set-weights', 'unload']);

export class Scheduler {
  readonly slots: Slot[];
  private readonly shared: Job[] = [];
  private seq = 0;
  private isClosed = false;

  constructor(size: number) {
    this.slots = Array.from({ length: size }, (_, index) => ({ index, state: 'starting' as const, queue: [], failures: 0 }));
  }

  get closed(): boolean {
    return this.isClosed;
  }

  assertOpen(): void {
    if (this.isClosed) throw new EngineError('E_POOL_CLOSED', 'The worker pool was closed; create a new one.');
  }

  /** Runs `request` on one given worker. A state change sent to a dead worker resolves: its replacement never comes. */
  submitTo(slot: Slot, request: PoolRequest, transfer: ArrayBuffer[]): Promise<PoolResponse> {
    this.assertOpen();
    return new Promise<PoolResponse>((resolve, reject) => {
      if (slot.state === 'dead') {
        if (STATE_OPS.has(request.op)) resolve(null);
        else reject(slot.deadError ?? this.brokenError());
        return;
      }
      slot.queue.push({ seq: this.seq++, request, transfer, resolve, reject });
      this.pump();
    });
  }

  /** Runs `request` on every worker (nothing is transferred: each gets a copy). */
  submitAll(request: PoolRequest): Promise<PoolResponse[]> {
    return Promise.all(this.slots.map((slot) => this.submitTo(slot, request, [])));
  }

  /** Runs `request` on whichever worker is free first. */
  submitShared(request: PoolRequest, transfer: ArrayBuffer[], group: Group, onProgress?: ProgressSink): Promise<PoolResponse> {
    this.assertOpen();
    if (this.slots.every((s) => s.state === 'dead')) return Promise.reject(this.brokenError());
    return new Promise<PoolResponse>((resolve, reject) => {
      this.shared.push({ seq: this.seq++, request, transfer, resolve, reject, group, ...(onProgress ? { onProgress } : {}) });
      this.pump();
    });
  }

  /** Gives every idle ready worker its next job. */
  pump(): void {
    for (const slot of this.slots) {
      if (slot.state !== 'ready' || slot.current) continue;
      while (this.shared[0]?.group?.failed)
        this.shared.shift()?.reject(new EngineError('E_POOL_CANCELLED', 'Cancelled: another shard of the same call failed.'));
      const own = slot.queue[0];
      const shared = this.shared[0];
      const job = own && (!shared || own.seq < shared.seq) ? slot.queue.shift() : this.shared.shift();
      if (job) this.runJob(slot, job);
    }
  }

  /** Gives up on a worker: its queued jobs fail (state changes resolve), and with no worker left, so do shared ones. */
  markDead(slot: Slot): void {
    slot.state = 'dead';
    for (const job of slot.queue.splice(0)) {
      if (STATE_OPS.has(job.request.op)) job.resolve(null);
      else job.reject(slot.deadError ?? this.brokenError());
    }
    if (this.slots.every((s) => s.state === 'dead')) for (const job of this.shared.splice(0)) job.reject(this.brokenError());
  }

  /** Rejects every queued job with `E_POOL_CLOSED`; later submissions throw it. */
  close(): void {
    this.isClosed = true;
    const closedError = (): EngineError => new EngineError('E_POOL_CLOSED', 'The worker pool was closed.');
    for (const job of this.shared.splice(0)) job.reject(closedError());
    for (const slot of this.slots) for (const job of slot.queue.splice(0)) job.reject(closedError());
  }

  brokenError(): EngineError {
    return new EngineError('E_POOL_BROKEN', 'Every worker of the pool has failed to restart; close it and create a new one.');
  }

  private runJob(slot: Slot, job: Job): void {
    slot.current = job;
    const transport = slot.transport as Transport;
    transport
      .run(job.request, job.transfer, job.onProgress)
      .then(job.resolve, (error: unknown) => this.fail(slot, job, error))
      .finally(() => {
        if (slot.current === job) slot.current = undefined;
        this.pump();
      });
  }

  private fail(slot: Slot, job: Job, error: unknown): void {
    if (job.group) job.group.failed = true;
    const operation = job.request.op === 'run' ? job.request.kind : job.request.op;
    if (this.isClosed) {
      job.reject(new EngineError('E_POOL_CLOSED', `The worker pool was closed during '${operation}'.`, { cause: error }));
      return;
    }
    if (error instanceof WorkerExit) {
      // A replacement worker reloads the pool's model state, so a state change is not lost.
      if (STATE_OPS.has(job.request.op)) job.resolve(null);
      else {
        job.reject(
          new EngineError(
            'E_WORKER_EXITED',
            `Pool worker ${slot.index} exited with code ${error.exitCode} during '${operation}'${error.error ? ` (${error.error.message})` : ''}; it is being replaced, so the call can be retried.`,
            {
              ...(error.error ? { cause: error.error } : {}),
              details: { worker: slot.index, operation, exitCode: error.exitCode },
            },
          ),
        );
      }
      return;
    }
    if (error instanceof WorkerFailure) {
      const original = error.error;
      job.reject(
        new EngineError('E_WORKER_FAILED', `Pool worker ${slot.index} failed during '${operation}': ${original.message}`, {
          cause: error.toCause(),
          details: {
            worker: slot.index,
            operation,
            originalName: original.name,
            originalCode: original.code,
            originalKind: original.kind,
            originalMessage: original.message,
          },
        }),
      );
      return;
    }
    const message = error instanceof Error ? error.message : String(error);
    job.reject(
      new EngineError('E_WORKER_FAILED', `Pool worker ${slot.index} failed during '${operation}': ${message}`, {
        cause: error,
        details: { worker: slot.index, operation },
      }),
    );
  }
}

/**
 * A pool of worker threads, each running TF.js on the main thread's backend with its own
 * copy of a model, for attacks and synchronous data-parallel training. The wasm backend
 * is single-threaded in Node, so threads are the only way to use a second core.
 *
 * This class ties the parts together: the job queues (`scheduler.ts`), starting and
 * replacing workers (`recovery.ts`), the master copies of models (`models.ts`), and the
 * two kinds of sharding (`attack-shards.ts`, `gradient-shards.ts`). Shard work is run by
 * the handlers registered for its kind (`../handlers/`), which the pool never imports.
 * It is an `Executor` (rows of work) and a `GradientSharder` (data-parallel training).
 *
 * `workers: 1` runs the same request handlers in-process with no threads, on a private
 * copy of the model, so results and errors are the same as with threads.
 */
import type * as tf from '@tensorflow/tfjs';
import { EngineError, GradientError, UsageError } from '../../core/errors.js';
import type { Bounds } from '../../core/types.js';
import { gatherRowValues } from '../../core/tensors.js';
import type { Classifier } from '../../models/classifier.js';
import { TfjsClassifier } from '../../models/tfjs-classifier.js';
import { onnxSourceOf, type OnnxSource } from '../../models/onnx/index.js';
import { exportOnnxWeights, trainableOnnxOf } from '../../models/onnx/trainable.js';
import { applyPoolGradients, type GradientSharder, type GradientShards } from '../../training/gradient-sharder.js';
import {
  isAttack,
  isTextFilterModel,
  rowLabels,
  shardRowCounts,
  type ExecutionInfo,
  type ExecutionModel,
  type Executor,
  type ExecutorSession,
  type RowsWork,
  type ShardsWork,
} from '../executor.js';
import type { HandlerRegistry } from '../handlers/registry.js';
import { LocalSession, openHere } from '../local.js';
import { runAttackShards, type PoolAttackRequest, type PoolAttackResult, type ShardContext } from './attack-shards.js';
import { runGradientShards, type PoolGradients, type PoolGradientsRequest } from './gradient-shards.js';
import { ModelCopies, type PoolModelHandle } from './models.js';
import type { MemoryResult } from './protocol.js';
import { Supervisor, type WorkerExitEvent } from './recovery.js';
import { Scheduler, type Group } from './scheduler.js';

export interface WorkerPoolOptions {
  /** Worker threads; default `os.availableParallelism()`. `1` runs in-process, no threads. */
  workers?: number;
  /** TF.js backend of the workers; default the main thread's (started with `initEngine()` if needed). */
  backend?: string;
  /** Rows per attack shard, the unit of seeding; default 64. Results depend on it, not on `workers`. */
  shardRows?: number;
  /** Called when a worker thread ends unexpectedly; the pool has already begun replacing it. */
  onWorkerExit?: (event: WorkerExitEvent) => void;
}

/** @throws UsageError `E_POOL_OPTION` unless `value` (or `fallback`) is a whole number >= 1. */
export function wholeNumber(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 1)
    throw new UsageError('E_POOL_OPTION', `Pool option '${name}' must be a whole number >= 1; got ${String(value)}.`, {
      details: { option: name, value },
    });
  return v;
}

/**
 * A pool of TF.js workers. Create it with `createWorkerPool`; `close()` it when done (live
 * worker threads keep the process running).
 */
export class WorkerPool implements Executor, GradientSharder {
  /** Number of workers (1 = in-process). */
  readonly size: number;
  readonly backend: string;
  readonly inProcess: boolean;
  readonly shardRows: number;
  private readonly scheduler: Scheduler;
  private readonly supervisor: Supervisor;
  private readonly copies = new ModelCopies();
  private readonly handlers: HandlerRegistry;

  /** @internal Use `createWorkerPool`. */
  constructor(
    size: number,
    backend: string,
    shardRows: number,
    handlers: HandlerRegistry,
    onWorkerExit?: (event: WorkerExitEvent) => void,
  ) {
    this.size = size;
    this.backend = backend;
    this.inProcess = size === 1;
    this.shardRows = shardRows;
    this.handlers = handlers;
    this.scheduler = new Scheduler(size);
    this.supervisor = new Supervisor(this.scheduler, {
      inProcess: this.inProcess,
      backend,
      handlers,
      replay: () => this.copies.replay(),
      ...(onWorkerExit ? { onWorkerExit } : {}),
    });
  }

  /** How this pool runs work, as reports record it. */
  get execution(): ExecutionInfo {
    return { workers: this.size, shardRows: this.shardRows };
  }

  /** @internal Starts every worker; rejects (and closes the pool) if one cannot start. */
  async start(): Promise<void> {
    await Promise.all(this.scheduler.slots.map((slot) => this.supervisor.startSlot(slot)));
    const dead = this.scheduler.slots.find((s) => s.state === 'dead');
    if (dead) {
      await this.close();
      throw new EngineError(
        'E_WORKER_START',
        `Pool worker ${dead.index} could not start TF.js on backend '${this.backend}': ${dead.deadCause?.message ?? 'unknown error'}.`,
        {
          cause: dead.deadCause,
          details: { worker: dead.index, backend: this.backend },
        },
      );
    }
  }

  /**
   * Loads a copy of `model` into every worker (topology as JSON, weights as transferred
   * ArrayBuffers). The pool keeps the weights to reload a replaced worker.
   *
   * @throws InputError `E_MODEL_SHAPE` for a model that is not a single-input classifier.
   * @throws UsageError `E_POOL_WEIGHTS` for non-float32 weights; `E_POOL_MODEL` for a trainable ONNX copy (`trainableOnnx`).
   * @throws EngineError `E_WORKER_FAILED` when a worker cannot rebuild the model.
   * @example const handle = await pool.loadModel(model, { min: 0, max: 1 });
   */
  async loadModel(model: tf.LayersModel, bounds?: Bounds, options: { id?: string } = {}): Promise<PoolModelHandle> {
    this.scheduler.assertOpen();
    if (trainableOnnxOf(model)) {
      throw new UsageError(
        'E_POOL_MODEL',
        'A trainable copy of an ONNX model cannot be rebuilt in pool workers; train it without a worker pool (--workers 1), or open it for attacks with pool.open.',
      );
    }
    const handle = await this.copies.add(model, bounds, options.id);
    try {
      await Promise.all(this.scheduler.slots.map((slot) => this.scheduler.submitTo(slot, ...this.copies.load(handle))));
    } catch (error) {
      this.copies.forget(handle.id);
      await Promise.allSettled(this.scheduler.slots.map((slot) => this.scheduler.submitTo(slot, { op: 'unload', handle: handle.id }, [])));
      throw error;
    }
    return handle;
  }

  /**
   * Replaces the model's weights in every worker: `weights` in `model.weights` order (as
   * `model.getWeights()` gives them), or a LayersModel of the same topology to copy from.
   *
   * @throws UsageError `E_POOL_WEIGHTS` when the count or sizes do not match.
   */
  async setWeights(handle: PoolModelHandle, weights: tf.LayersModel | readonly (tf.Tensor | Float32Array)[]): Promise<void> {
    this.scheduler.assertOpen();
    const next = await this.copies.replaceWeights(handle, weights);
    // Arrays are cloned per worker by postMessage (not transferred): the master copy stays.
    await this.scheduler.submitAll({ op: 'set-weights', handle: handle.id, weights: next });
  }

  /** Drops the model from every worker and from the pool. */
  async unloadModel(handle: PoolModelHandle): Promise<void> {
    this.scheduler.assertOpen();
    this.copies.delete(handle);
    await this.scheduler.submitAll({ op: 'unload', handle: handle.id });
  }

  /**
   * Attacks a batch, sharded across the workers (see `attack-shards.ts` for seeding).
   * Options and inputs are validated here, so mistakes throw the same typed errors as
   * `attack.run`; failures inside a worker throw `EngineError`.
   *
   * @throws UsageError `E_UNKNOWN_ATTACK` / `E_ATTACK_OPTION`; InputError for inputs that do not fit the model.
   * @throws EngineError `E_WORKER_FAILED` (cause: the worker's error, `details.originalCode`) or `E_WORKER_EXITED`.
   * @example
   * const r = await pool.attack(handle, { attackId: 'pgd', attackOptions: { steps: 10 }, threat, x, labels, seed: 1 });
   */
  async attack(handle: PoolModelHandle, request: PoolAttackRequest): Promise<PoolAttackResult> {
    return runAttackShards(this.context(handle), request, wholeNumber('shardRows', request.shardRows, this.shardRows));
  }

  /**
   * Weight gradients of the batch's mean loss, computed in one contiguous shard per worker
   * and averaged with shard-size weights; also the mean loss.
   *
   * @throws UsageError `E_UNKNOWN_OBJECTIVE`, `E_POOL_OBJECTIVE`; InputError for inputs or labels that do not fit the model.
   * @throws EngineError `E_WORKER_FAILED` / `E_WORKER_EXITED`.
   * @example
   * const g = await pool.gradients(handle, { x, labels });
   * applyPoolGradients(optimizer, g);
   * await pool.setWeights(handle, model);
   */
  async gradients(handle: PoolModelHandle, request: PoolGradientsRequest): Promise<PoolGradients> {
    const trainable = { names: handle.trainableNames, shapes: handle.trainableShapes };
    return runGradientShards(this.context(handle), trainable, this.size, request);
  }

  /**
   * One synchronous data-parallel step: gradients across the workers, `optimizer` applied
   * on the main thread to `model` (the model loaded as `handle`), new weights broadcast.
   * Returns the batch's mean loss (before the update).
   *
   * @throws GradientError `E_LOSS_NONFINITE` when the loss is NaN or infinite (nothing is applied).
   */
  async trainStep(handle: PoolModelHandle, model: tf.LayersModel, optimizer: tf.Optimizer, batch: PoolGradientsRequest): Promise<number> {
    const grads = await this.gradients(handle, batch);
    if (!Number.isFinite(grads.loss)) {
      throw new GradientError('E_LOSS_NONFINITE', `Training loss became ${grads.loss}; lower the learning rate.`);
    }
    applyPoolGradients(optimizer, grads);
    await this.setWeights(handle, model);
    return grads.loss;
  }

  /**
   * Loads an imported ONNX model into every worker: each imports the file's bytes again
   * behind the same preprocessing, so shards see the same graph as this thread.
   *
   * @throws EngineError `E_WORKER_FAILED` when a worker cannot import the model.
   */
  async loadOnnx(model: Classifier, from?: OnnxSource): Promise<PoolModelHandle> {
    this.scheduler.assertOpen();
    const source = from ?? onnxSourceOf(model);
    if (!source) throw new UsageError('E_POOL_MODEL', `Model '${model.id}' was not imported from ONNX bytes (importOnnx / loadOnnxModel).`);
    const handle = this.copies.addOnnx(model, source);
    try {
      await Promise.all(this.scheduler.slots.map((slot) => this.scheduler.submitTo(slot, ...this.copies.load(handle))));
    } catch (error) {
      this.copies.forget(handle.id);
      await Promise.allSettled(this.scheduler.slots.map((slot) => this.scheduler.submitTo(slot, { op: 'unload', handle: handle.id }, [])));
      throw error;
    }
    return handle;
  }

  /**
   * Executor: binds `model` for rows of work. A TF.js model is copied into every worker, an
   * imported ONNX model is imported again in every worker from its bytes; any other
   * classifier (a defence wrapper, a score target) cannot be shipped, so its rows run in
   * this thread, in the same shards with the same seeds. A saved text filter runs its
   * shards in this thread too (workers load only classifiers); the numbers do not change.
   *
   * @example const session = await pool.open(model); try { await session.runRows(work); } finally { await session.close(); }
   */
  async open(model: ExecutionModel): Promise<ExecutorSession> {
    this.scheduler.assertOpen();
    if (isTextFilterModel(model)) return openHere(model, this.shardRows, this.handlers);
    const onnx = onnxSourceOf(model) !== undefined;
    if (!(model instanceof TfjsClassifier) && !onnx) return new LocalSession(model, this.shardRows, this.handlers);
    // A trainable ONNX copy cannot be rebuilt from its topology: ship its current weights as an ONNX file.
    const copy = model instanceof TfjsClassifier ? trainableOnnxOf(model.model) : undefined;
    const handle = copy
      ? await this.loadOnnx(model, { ...copy.source, id: model.id, bytes: exportOnnxWeights(copy.source, copy.trainable) })
      : model instanceof TfjsClassifier
        ? await this.loadModel(model.model, model.bounds, { id: model.id })
        : await this.loadOnnx(model);
    return {
      execution: this.execution,
      runRows: async (work: RowsWork) => {
        const { attack } = work;
        if (isAttack(attack)) {
          const hint = 'a worker pool rebuilds attacks from their id and options, so pass { id, options }';
          throw new UsageError('E_POOL_ATTACK', `Attack '${attack.id}' was given as an object; ${hint}.`);
        }
        return this.attack(handle, {
          attackId: attack.id,
          attackOptions: attack.options ?? {},
          threat: work.threat,
          x: gatherRowValues(work.data, work.rows),
          labels: rowLabels(work.data, work.rows),
          seed: work.seed,
          ...(work.targets ? { goal: { kind: 'targeted' as const, targets: work.targets } } : {}),
          ...(work.onProgress ? { onProgress: (p: { done: number; total: number }) => work.onProgress?.(p.done, p.total) } : {}),
        });
      },
      runShards: <P, R>(work: ShardsWork<P>) => this.runShards<P, R>(handle, work),
      close: () => this.unloadModel(handle),
    };
  }

  /** Shards of any registered kind on the workers, checked here first; results in shard order. */
  private async runShards<P, R>(handle: PoolModelHandle, work: ShardsWork<P>): Promise<R[]> {
    const ctx = this.context(handle);
    const handler = this.handlers.get<P, R>(work.kind);
    for (const shard of work.shards) await handler.check?.(shard, ctx.model);
    const rows = shardRowCounts(work);
    const total = rows.reduce((s, r) => s + r, 0);
    const progress = new Float64Array(rows.length);
    const report = (): void =>
      work.onProgress?.(
        progress.reduce((s, v) => s + v, 0),
        total,
      );
    const group: Group = { failed: false };
    return Promise.all(
      work.shards.map(async (payload, k) => {
        const size = rows[k] as number;
        const onProgress = (done: number, of: number): void => {
          progress[k] = (size * done) / Math.max(1, of);
          report();
        };
        const request = { op: 'run' as const, kind: work.kind, handle: handle.id, payload };
        const result = (await ctx.scheduler.submitShared(request, [], group, onProgress)) as R;
        progress[k] = size;
        report();
        return result;
      }),
    );
  }

  /** GradientSharder: copies `model` into every worker for data-parallel training. */
  async openGradients(model: tf.LayersModel, bounds: Bounds): Promise<GradientShards> {
    const handle = await this.loadModel(model, bounds);
    return {
      gradients: (request) => this.gradients(handle, request),
      setWeights: (next) => this.setWeights(handle, next),
      close: () => this.unloadModel(handle),
    };
  }

  /** `tf.memory().numTensors` of each worker (of the main thread when in-process), for leak checks. */
  async memory(): Promise<number[]> {
    this.scheduler.assertOpen();
    const all = (await this.scheduler.submitAll({ op: 'memory' })) as MemoryResult[];
    return all.map((m) => m.numTensors);
  }

  /**
   * Fault injection for tests and drills: worker `index` exits now with `code`, as a
   * crashing thread would (at its next await if it is busy; the request it was running
   * rejects with `E_WORKER_EXITED`). Resolves once the thread has gone; the pool reports
   * it through `onWorkerExit` and starts a replacement with the current model state.
   *
   * @throws UsageError `E_POOL_IN_PROCESS` for an in-process pool, `E_POOL_WORKER` for a bad index or a worker not running.
   */
  async crashWorker(index: number, code = 70): Promise<void> {
    await this.supervisor.crash(index, code);
  }

  /** Ends every worker thread. Pending and later calls reject with `E_POOL_CLOSED`. Idempotent. */
  async close(): Promise<void> {
    if (this.scheduler.closed) return;
    this.scheduler.close();
    await Promise.all(this.scheduler.slots.map(async (slot) => slot.transport?.terminate()));
    // A worker still starting terminates itself once it sees the pool closed.
    await Promise.all(this.scheduler.slots.map((slot) => slot.starting));
    this.copies.clear();
  }

  private context(handle: PoolModelHandle): ShardContext {
    this.scheduler.assertOpen();
    return { scheduler: this.scheduler, handlers: this.handlers, handle: handle.id, model: this.copies.info(handle), workers: this.size };
  }
}

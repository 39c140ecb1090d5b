/**
 * A pool of worker threads, each running TF.js on the main thread's backend with its own
 * copy of a model, for attacks and synchronous data-parallel training. The wasm backend
 * is single-threaded in Node, so threads are the only way to use a second core.
 *
 * Attacks are split into fixed shards of `shardRows` rows, each seeded from the call's
 * seed and the shard's row offset (`shardSeed`); shards go to whichever worker is free and
 * are merged back in row order. Neither the shards nor their seeds depend on the number
 * of workers, so a seeded attack (PGD with random start) gives the same result with 1, 2
 * or 8 workers, and a batch that fits in one shard gives exactly `attack.run(..., { seed })`.
 *
 * Gradients are split into one contiguous shard per worker; the pool returns the gradient
 * of the whole batch's mean loss (shard gradients averaged with shard-size weights). The
 * caller applies it with its own optimiser on the main thread and broadcasts the new
 * weights (`trainStep` does all three).
 *
 * `workers: 1` runs the same request handler in-process with no threads, on a private
 * copy of the model, so results and errors are the same as with threads.
 */
import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { EngineError, GradientError, InputError, UsageError, listChoices } from '../../core/errors.js';
import type { Bounds } from '../../core/types.js';
import { sizeOf } from '../../core/types.js';
import { createAttack } from '../../attacks/registry.js';
import type { AttackGoal } from '../../attacks/types.js';
import { assertLabels, validateAttackInputs } from '../../attacks/validate.js';
import type { Classifier } from '../../models/classifier.js';
import { assertBatchShape } from '../../models/classifier.js';
import { TfjsClassifier } from '../../models/tfjs-classifier.js';
import type { ThreatModel } from '../../threats/threat-model.js';
import { createObjective } from '../../training/objectives/registry.js';
import type { ObjectiveSpec } from '../../training/objectives/types.js';
import { BACKEND_NAMES, engineInfo, initEngine } from '../backend.js';
import {
  evenRanges,
  shardRanges,
  shardSeed,
  type AttackShardResult,
  type GradientsShardResult,
  type LoadRequest,
  type MemoryResult,
  type PoolBatchContext,
  type PoolRequest,
  type PoolResponse,
} from './protocol.js';
import type { ProgressSink } from './runtime.js';
import { LocalTransport, ThreadTransport, WorkerExit, WorkerFailure, type Transport } from './transport.js';

/** Rows per attack shard unless told otherwise: on wasm, throughput is flat from 64 rows up. */
export const DEFAULT_SHARD_ROWS = 64;

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

export interface WorkerExitEvent {
  worker: number;
  exitCode: number;
  /** The uncaught error that ended the thread, if any. */
  error?: Error;
}

/** A model loaded into every worker. Plain data; keep it to address the model. */
export interface PoolModelHandle {
  readonly id: number;
  readonly modelId: string;
  readonly inputShape: readonly number[];
  readonly numClasses: number;
  readonly bounds: Bounds;
  /** The main-thread variable names of `model.trainableWeights`, in order: the keys `optimizer.applyGradients` needs. */
  readonly trainableNames: readonly string[];
  readonly trainableShapes: readonly (readonly number[])[];
}

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
export interface PoolAttackResult {
  adversarial: Float32Array;
  shape: number[];
  success: Uint8Array;
  perturbation: Float32Array;
  queries: Int32Array;
}

export interface PoolGradientsRequest {
  x: Float32Array;
  shape?: readonly number[];
  labels: Int32Array;
  /**
   * The training objective, as `createObjective` takes it; default `{ id: 'standard' }`.
   * Each worker runs the objective's `prepare` (e.g. the PGD inner maximisation) on its
   * own shard and returns the weight gradients of the shard's loss. Adversarial weight
   * perturbation needs the whole batch and is refused.
   */
  objective?: ObjectiveSpec;
  /** Epoch, step, seed and exposure of the batch; shard `k` at row `r` gets `shardSeed(seed, r)`. */
  batch?: PoolBatchContext;
}

export interface PoolGradients {
  /** Mean loss over the whole batch. */
  loss: number;
  count: number;
  /** Gradients of the mean loss, in `model.trainableWeights` order. */
  gradients: Float32Array[];
  /** Main-thread variable names, aligned with `gradients`. */
  names: readonly string[];
  shapes: readonly (readonly number[])[];
}

interface Group {
  failed: boolean;
}

interface Job {
  seq: number;
  request: PoolRequest;
  transfer: ArrayBuffer[];
  resolve: (value: PoolResponse) => void;
  reject: (error: Error) => void;
  onProgress?: ProgressSink;
  group?: Group;
}

interface Slot {
  index: number;
  state: 'starting' | 'ready' | 'dead';
  transport?: Transport;
  current?: Job;
  queue: Job[];
  /** Consecutive failed starts; three in a row and the slot is given up. */
  failures: number;
  /** The running start (or restart), awaited by close(). */
  starting?: Promise<void>;
  deadError?: Error;
}

interface MasterModel {
  handle: PoolModelHandle;
  topology: object;
  weightSpecs: tf.io.WeightsManifestEntry[];
  /** Latest weights in `model.weights` order; never mutated in place (replaced on setWeights). */
  weights: Float32Array[];
}

const MAX_START_FAILURES = 3;
/** Ops whose effect a replaced worker gets from the replay of the pool's model state. */
const STATE_OPS = new Set<PoolRequest['op']>(['load', 'set-weights', 'unload']);

function wholeNumber(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 1) throw new UsageError('E_POOL_OPTION', `Pool option '${name}' must be a whole number >= 1; got ${String(value)}.`, { details: { option: name, value } });
  return v;
}

/**
 * A pool of TF.js workers. Create it with `createWorkerPool`; `close()` it when done (live
 * worker threads keep the process running).
 */
export class WorkerPool {
  /** Number of workers (1 = in-process). */
  readonly size: number;
  readonly backend: string;
  readonly inProcess: boolean;
  readonly shardRows: number;
  private readonly slots: Slot[];
  private readonly shared: Job[] = [];
  private readonly models = new Map<number, MasterModel>();
  private seq = 0;
  private nextHandle = 1;
  private closed = false;
  private readonly onWorkerExit: ((event: WorkerExitEvent) => void) | undefined;

  /** @internal Use `createWorkerPool`. */
  constructor(size: number, backend: string, shardRows: number, onWorkerExit?: (event: WorkerExitEvent) => void) {
    this.size = size;
    this.backend = backend;
    this.inProcess = size === 1;
    this.shardRows = shardRows;
    this.onWorkerExit = onWorkerExit;
    this.slots = Array.from({ length: size }, (_, index) => ({ index, state: 'starting' as const, queue: [], failures: 0 }));
  }

  /** @internal Starts every worker; rejects (and closes the pool) if one cannot start. */
  async start(): Promise<void> {
    await Promise.all(this.slots.map((slot) => this.startSlot(slot)));
    const dead = this.slots.find((s) => s.state === 'dead');
    if (dead) {
      await this.close();
      throw new EngineError('E_WORKER_START', `Pool worker ${dead.index} could not start TF.js on backend '${this.backend}': ${dead.deadError?.message ?? 'unknown error'}.`, {
        cause: dead.deadError,
        details: { worker: dead.index, backend: this.backend },
      });
    }
  }

  /**
   * Loads a copy of `model` into every worker (topology as JSON, weights as transferred
   * ArrayBuffers). The pool keeps the weights to reload a replaced worker.
   *
   * @throws InputError `E_MODEL_SHAPE` for a model that is not a single-input classifier.
   * @throws UsageError `E_POOL_WEIGHTS` for non-float32 weights.
   * @throws EngineError `E_WORKER_FAILED` when a worker cannot rebuild the model.
   * @example const handle = await pool.loadModel(model, { min: 0, max: 1 });
   */
  async loadModel(model: tf.LayersModel, bounds?: Bounds, options: { id?: string } = {}): Promise<PoolModelHandle> {
    this.assertOpen();
    const classifier = new TfjsClassifier(model, { ...(bounds ? { bounds } : {}), ...(options.id ? { id: options.id } : {}) });
    const weights = await readWeights(model.weights.map((w) => w.read()), model.weights.map((w) => w.originalName));
    const id = this.nextHandle++;
    const handle: PoolModelHandle = Object.freeze({
      id,
      modelId: classifier.id,
      inputShape: classifier.inputShape,
      numClasses: classifier.numClasses,
      bounds: classifier.bounds,
      trainableNames: model.trainableWeights.map((w) => (w.read() as tf.Variable).name),
      trainableShapes: model.trainableWeights.map((w) => [...w.shape] as number[]),
    });
    const master: MasterModel = {
      handle,
      topology: model.toJSON(null, false) as object,
      weightSpecs: model.weights.map((w) => ({ name: w.originalName, shape: [...w.shape] as number[], dtype: 'float32' as const })),
      weights,
    };
    this.models.set(id, master);
    try {
      await Promise.all(this.slots.map((slot) => this.submitTo(slot, ...loadRequest(master))));
    } catch (error) {
      this.models.delete(id);
      await Promise.allSettled(this.slots.map((slot) => this.submitTo(slot, { op: 'unload', handle: id }, [])));
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
    const master = this.master(handle);
    const list = Array.isArray(weights) ? (weights as readonly (tf.Tensor | Float32Array)[]) : (weights as tf.LayersModel).weights.map((w) => w.read());
    const next = await readWeights(list, master.weightSpecs.map((s) => s.name));
    if (next.length !== master.weights.length) {
      throw new UsageError('E_POOL_WEIGHTS', `Got ${next.length} weights for model '${handle.modelId}', which has ${master.weights.length}; pass them in model.weights order.`, {
        details: { expected: master.weights.length, actual: next.length },
      });
    }
    next.forEach((values, i) => {
      const spec = master.weightSpecs[i];
      if (spec && values.length !== sizeOf(spec.shape)) {
        throw new UsageError('E_POOL_WEIGHTS', `Weight ${i} ('${spec.name}') needs ${sizeOf(spec.shape)} values for shape [${spec.shape.join(', ')}]; got ${values.length}.`, {
          details: { index: i, expected: sizeOf(spec.shape), actual: values.length },
        });
      }
    });
    master.weights = next;
    // Arrays are cloned per worker by postMessage (not transferred): the master copy stays.
    await Promise.all(this.slots.map((slot) => this.submitTo(slot, { op: 'set-weights', handle: handle.id, weights: next }, [])));
  }

  /** Drops the model from every worker and from the pool. */
  async unloadModel(handle: PoolModelHandle): Promise<void> {
    this.master(handle);
    this.models.delete(handle.id);
    await Promise.all(this.slots.map((slot) => this.submitTo(slot, { op: 'unload', handle: handle.id }, [])));
  }

  /**
   * Attacks a batch, sharded across the workers (see the module comment for seeding).
   * Options and inputs are validated here, so mistakes throw the same typed errors as
   * `attack.run`; failures inside a worker throw `EngineError`.
   *
   * @throws UsageError `E_UNKNOWN_ATTACK` / `E_ATTACK_OPTION`; InputError for inputs that do not fit the model.
   * @throws EngineError `E_WORKER_FAILED` (cause: the worker's error, `details.originalCode`) or `E_WORKER_EXITED`.
   * @example
   * const r = await pool.attack(handle, { attackId: 'pgd', attackOptions: { steps: 10 }, threat, x, labels, seed: 1 });
   */
  async attack(handle: PoolModelHandle, request: PoolAttackRequest): Promise<PoolAttackResult> {
    const master = this.master(handle);
    const attackOptions = request.attackOptions ?? {};
    createAttack(request.attackId, attackOptions); // throws UsageError for a bad id or option
    const n = request.labels.length;
    const shape = [...(request.shape ?? [n, ...handle.inputShape])];
    const rowSize = sizeOf(handle.inputShape);
    assertBatchShape(modelShape(master), shape);
    if (request.x.length !== sizeOf(shape)) {
      throw new InputError('E_INPUT_LENGTH', `x holds ${request.x.length} values but shape [${shape.join(', ')}] needs ${sizeOf(shape)}.`, { details: { length: request.x.length, shape } });
    }
    const empty = (): PoolAttackResult => ({ adversarial: new Float32Array(0), shape, success: new Uint8Array(0), perturbation: new Float32Array(0), queries: new Int32Array(0) });
    if (n === 0 && shape[0] === 0) return empty();
    const goal = request.goal ?? { kind: 'untargeted' };
    await validateOnMainThread(master, request.x, shape, request.labels, request.threat, goal);
    const seed = request.seed ?? 0;
    const shardRows = wholeNumber('shardRows', request.shardRows, this.shardRows);
    const ranges = shardRanges(n, shardRows);
    const progress = new Float64Array(ranges.length);
    const report = (): void => request.onProgress?.({ done: progress.reduce((a, b) => a + b, 0), total: n });
    const group: Group = { failed: false };
    const results = await Promise.all(
      ranges.map(async ([start, end], k) => {
        const x = request.x.slice(start * rowSize, end * rowSize);
        const result = (await this.submitShared(
          {
            op: 'attack',
            handle: handle.id,
            attackId: request.attackId,
            attackOptions,
            threat: request.threat,
            x,
            shape: [end - start, ...shape.slice(1)],
            labels: request.labels.slice(start, end),
            ...(goal.kind === 'targeted' ? { targets: goal.targets.slice(start, end) } : {}),
            seed: shardSeed(seed, start),
          },
          [x.buffer],
          group,
          (done, total) => {
            progress[k] = ((end - start) * done) / Math.max(1, total);
            report();
          },
        )) as AttackShardResult;
        progress[k] = end - start;
        report();
        return result;
      }),
    );
    const out: PoolAttackResult = {
      adversarial: new Float32Array(n * rowSize),
      shape,
      success: new Uint8Array(n),
      perturbation: new Float32Array(n),
      queries: new Int32Array(n),
    };
    ranges.forEach(([start], k) => {
      const r = results[k] as AttackShardResult;
      out.adversarial.set(r.adversarial, start * rowSize);
      out.success.set(r.success, start);
      out.perturbation.set(r.perturbation, start);
      out.queries.set(r.queries, start);
    });
    return out;
  }

  /**
   * Weight gradients of the batch's mean loss, computed in one contiguous shard per worker
   * and averaged with shard-size weights; also the mean loss.
   *
   * @throws UsageError `E_UNKNOWN_OBJECTIVE`; InputError for inputs or labels that do not fit the model.
   * @throws EngineError `E_WORKER_FAILED` / `E_WORKER_EXITED`.
   * @example
   * const g = await pool.gradients(handle, { x, labels });
   * applyPoolGradients(optimizer, g);
   * await pool.setWeights(handle, model);
   */
  async gradients(handle: PoolModelHandle, request: PoolGradientsRequest): Promise<PoolGradients> {
    const master = this.master(handle);
    const objective = request.objective ?? { id: 'standard' };
    // Built here too, so a bad id or option fails with the registry's own error before any work.
    if (createObjective(objective.id, objective.options ?? {}).spec === undefined) {
      throw new UsageError('E_POOL_OBJECTIVE', `Objective '${objective.id}' uses adversarial weight perturbation, which needs the whole batch; train it without a worker pool (--workers 1).`, {
        details: { objective },
      });
    }
    const context: PoolBatchContext = request.batch ?? { epoch: 0, step: 0, seed: 0 };
    const n = request.labels.length;
    const shape = [...(request.shape ?? [n, ...handle.inputShape])];
    assertBatchShape(modelShape(master), shape, 'training batch');
    const rowSize = sizeOf(handle.inputShape);
    if (request.x.length !== sizeOf(shape) || shape[0] !== n || n === 0) {
      throw new InputError('E_INPUT_LENGTH', `x holds ${request.x.length} values and ${n} labels; shape [${shape.join(', ')}] needs ${sizeOf(shape)} values, one label per row and at least one row.`, {
        details: { length: request.x.length, labels: n, shape },
      });
    }
    assertLabels(request.labels, n, handle.numClasses);
    const group: Group = { failed: false };
    const ranges = evenRanges(n, this.size);
    const shards = (await Promise.all(
      ranges.map(([start, end]) => {
        const x = request.x.slice(start * rowSize, end * rowSize);
        return this.submitShared(
          {
            op: 'gradients',
            handle: handle.id,
            objective,
            batch: { ...context, seed: shardSeed(context.seed, start) },
            x,
            shape: [end - start, ...shape.slice(1)],
            labels: request.labels.slice(start, end),
          },
          [x.buffer],
          group,
        );
      }),
    )) as GradientsShardResult[];
    const sums = handle.trainableShapes.map((s) => new Float64Array(sizeOf(s)));
    let loss = 0;
    for (const shard of shards) {
      const weight = shard.count / n;
      loss += weight * shard.loss;
      shard.gradients.forEach((g, i) => {
        const sum = sums[i] as Float64Array;
        for (let j = 0; j < g.length; j++) sum[j] = (sum[j] as number) + weight * (g[j] as number);
      });
    }
    return { loss, count: n, gradients: sums.map((s) => Float32Array.from(s)), names: handle.trainableNames, shapes: handle.trainableShapes };
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

  /** `tf.memory().numTensors` of each worker (of the main thread when in-process), for leak checks. */
  async memory(): Promise<number[]> {
    this.assertOpen();
    const all = (await Promise.all(this.slots.map((slot) => this.submitTo(slot, { op: 'memory' }, [])))) as MemoryResult[];
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
    this.assertOpen();
    if (this.inProcess) throw new UsageError('E_POOL_IN_PROCESS', 'An in-process pool (workers: 1) has no worker thread to crash.');
    const slot = this.slots[index];
    if (!slot?.transport || slot.state !== 'ready') {
      throw new UsageError('E_POOL_WORKER', `Worker ${index} is not running; this pool has workers 0..${this.size - 1}.`, { details: { worker: index, state: slot?.state } });
    }
    await slot.transport.run({ op: 'exit', code }, []).catch((error: unknown) => {
      if (!(error instanceof WorkerExit)) throw error;
    });
  }

  /** Ends every worker thread. Pending and later calls reject with `E_POOL_CLOSED`. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const closedError = (): EngineError => new EngineError('E_POOL_CLOSED', 'The worker pool was closed.');
    for (const job of this.shared.splice(0)) job.reject(closedError());
    for (const slot of this.slots) for (const job of slot.queue.splice(0)) job.reject(closedError());
    await Promise.all(this.slots.map(async (slot) => slot.transport?.terminate()));
    // A worker still starting terminates itself once it sees the pool closed.
    await Promise.all(this.slots.map((slot) => slot.starting));
    this.models.clear();
  }

  private assertOpen(): void {
    if (this.closed) throw new EngineError('E_POOL_CLOSED', 'The worker pool was closed; create a new one.');
  }

  private master(handle: PoolModelHandle): MasterModel {
    this.assertOpen();
    const master = this.models.get(handle.id);
    if (!master || master.handle !== handle) {
      throw new UsageError('E_POOL_MODEL', `Model handle ${handle.id} ('${handle.modelId}') is not loaded in this pool; use the handle pool.loadModel returned.`, {
        details: { handle: handle.id },
      });
    }
    return master;
  }

  // ---- scheduling -------------------------------------------------------------------

  private submitTo(slot: Slot, request: PoolRequest, transfer: ArrayBuffer[]): Promise<PoolResponse> {
    this.assertOpen();
    return new Promise<PoolResponse>((resolve, reject) => {
      if (slot.state === 'dead') {
        if (STATE_OPS.has(request.op)) resolve(null);
        else reject(this.deadError(slot));
        return;
      }
      slot.queue.push({ seq: this.seq++, request, transfer, resolve, reject });
      this.pump();
    });
  }

  private submitShared(request: PoolRequest, transfer: ArrayBuffer[], group: Group, onProgress?: ProgressSink): Promise<PoolResponse> {
    this.assertOpen();
    if (this.slots.every((s) => s.state === 'dead')) return Promise.reject(this.brokenError());
    return new Promise<PoolResponse>((resolve, reject) => {
      this.shared.push({ seq: this.seq++, request, transfer, resolve, reject, group, ...(onProgress ? { onProgress } : {}) });
      this.pump();
    });
  }

  /**
   * Gives every idle ready worker its next job: the older of its own queue's head and the
   * shared queue's head, so each worker sees requests in the order they were made.
   */
  private pump(): void {
    for (const slot of this.slots) {
      if (slot.state !== 'ready' || slot.current) continue;
      while (this.shared[0]?.group?.failed) this.shared.shift()?.reject(new EngineError('E_POOL_CANCELLED', 'Cancelled: another shard of the same call failed.'));
      const own = slot.queue[0];
      const shared = this.shared[0];
      const job = own && (!shared || own.seq < shared.seq) ? slot.queue.shift() : this.shared.shift();
      if (job) this.runJob(slot, job);
    }
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
    const operation = job.request.op;
    if (this.closed) {
      job.reject(new EngineError('E_POOL_CLOSED', `The worker pool was closed during '${operation}'.`, { cause: error }));
      return;
    }
    if (error instanceof WorkerExit) {
      // A replacement worker reloads the pool's model state, so a state change is not lost.
      if (STATE_OPS.has(operation)) job.resolve(null);
      else {
        job.reject(
          new EngineError('E_WORKER_EXITED', `Pool worker ${slot.index} exited with code ${error.exitCode} during '${operation}'${error.error ? ` (${error.error.message})` : ''}; it is being replaced, so the call can be retried.`, {
            ...(error.error ? { cause: error.error } : {}),
            details: { worker: slot.index, operation, exitCode: error.exitCode },
          }),
        );
      }
      return;
    }
    if (error instanceof WorkerFailure) {
      const original = error.error;
      job.reject(
        new EngineError('E_WORKER_FAILED', `Pool worker ${slot.index} failed during '${operation}': ${original.message}`, {
          cause: error.toCause(),
          details: { worker: slot.index, operation, originalName: original.name, originalCode: original.code, originalKind: original.kind, originalMessage: original.message },
        }),
      );
      return;
    }
    const message = error instanceof Error ? error.message : String(error);
    job.reject(new EngineError('E_WORKER_FAILED', `Pool worker ${slot.index} failed during '${operation}': ${message}`, { cause: error, details: { worker: slot.index, operation } }));
  }

  // ---- worker lifecycle ---------------------------------------------------------------

  private startSlot(slot: Slot): Promise<void> {
    const starting = this.runStart(slot).finally(() => {
      if (slot.starting === starting) slot.starting = undefined;
    });
    slot.starting = starting;
    return starting;
  }

  private async runStart(slot: Slot): Promise<void> {
    slot.state = 'starting';
    slot.transport = undefined;
    while (!this.closed) {
      let transport: Transport | undefined;
      try {
        transport = this.inProcess ? new LocalTransport() : await ThreadTransport.start({ backend: this.backend }, (t, exit) => this.onExit(slot, t, exit));
        // Replay the pool's model state, so a replacement is indistinguishable from the original.
        for (const master of [...this.models.values()]) await transport.run(...loadRequest(master));
        if (this.closed) {
          await transport.terminate();
          return;
        }
        slot.transport = transport;
        slot.state = 'ready';
        slot.failures = 0;
        this.pump();
        return;
      } catch (error) {
        await transport?.terminate();
        slot.failures++;
        if (slot.failures >= MAX_START_FAILURES) {
          const cause = error instanceof WorkerFailure ? error.toCause() : error;
          slot.deadError = cause instanceof Error ? cause : new Error(String(cause));
          this.markDead(slot);
          return;
        }
      }
    }
  }

  private onExit(slot: Slot, transport: ThreadTransport, exit: WorkerExit): void {
    // Exits of a transport still starting are the start loop's business.
    if (this.closed || slot.transport !== transport) return;
    this.onWorkerExit?.({ worker: slot.index, exitCode: exit.exitCode, ...(exit.error ? { error: exit.error } : {}) });
    void this.startSlot(slot);
  }

  private markDead(slot: Slot): void {
    slot.state = 'dead';
    for (const job of slot.queue.splice(0)) {
      if (STATE_OPS.has(job.request.op)) job.resolve(null);
      else job.reject(this.deadError(slot));
    }
    if (this.slots.every((s) => s.state === 'dead')) for (const job of this.shared.splice(0)) job.reject(this.brokenError());
  }

  private deadError(slot: Slot): EngineError {
    return new EngineError('E_WORKER_FAILED', `Pool worker ${slot.index} could not be restarted after ${MAX_START_FAILURES} attempts: ${slot.deadError?.message ?? 'unknown error'}.`, {
      cause: slot.deadError,
      details: { worker: slot.index },
    });
  }

  private brokenError(): EngineError {
    return new EngineError('E_POOL_BROKEN', 'Every worker of the pool has failed to restart; close it and create a new one.');
  }
}

/** What the shared input checks need to know of a model, without holding the model. */
function modelShape(master: MasterModel): Pick<Classifier, 'id' | 'inputShape' | 'numClasses'> {
  return { id: master.handle.modelId, inputShape: master.handle.inputShape, numClasses: master.handle.numClasses };
}

function loadRequest(master: MasterModel): [LoadRequest, ArrayBuffer[]] {
  const total = master.weights.reduce((s, w) => s + w.length, 0);
  const data = new Float32Array(total);
  let offset = 0;
  for (const w of master.weights) {
    data.set(w, offset);
    offset += w.length;
  }
  const { handle } = master;
  return [
    { op: 'load', handle: handle.id, topology: master.topology, weightSpecs: master.weightSpecs, weightData: data.buffer, modelId: handle.modelId, bounds: handle.bounds },
    [data.buffer],
  ];
}

/** Fresh float32 copies of weights given as tensors or arrays. */
async function readWeights(list: readonly (tf.Tensor | Float32Array)[], names: readonly string[]): Promise<Float32Array[]> {
  return Promise.all(
    list.map(async (w, i) => {
      if (w instanceof Float32Array) return w.slice();
      if (w.dtype !== 'float32') {
        throw new UsageError('E_POOL_WEIGHTS', `Weight ${i} ('${names[i] ?? '?'}') is ${w.dtype}; the pool moves float32 weights only.`, { details: { index: i, dtype: w.dtype } });
      }
      return Float32Array.from((await w.data()) as Float32Array);
    }),
  );
}

/** The checks `attack.run` makes, on the main thread, so bad inputs throw InputError, not a worker failure. */
async function validateOnMainThread(master: MasterModel, x: Float32Array, shape: number[], labels: Int32Array, threat: ThreatModel, goal: AttackGoal): Promise<void> {
  const tensor = tf.tensor(x, shape, 'float32');
  try {
    await validateAttackInputs(modelShape(master), tensor, labels, threat, goal);
  } finally {
    tensor.dispose();
  }
}

/**
 * Applies pool gradients with a main-thread optimiser to the variables they name.
 *
 * @example applyPoolGradients(optimizer, await pool.gradients(handle, { x, labels }));
 */
export function applyPoolGradients(optimizer: tf.Optimizer, grads: Pick<PoolGradients, 'gradients' | 'names' | 'shapes'>): void {
  const named = grads.names.map((name, i) => ({ name, tensor: tf.tensor(grads.gradients[i] as Float32Array, [...(grads.shapes[i] ?? [])], 'float32') }));
  try {
    optimizer.applyGradients(named);
  } finally {
    for (const { tensor } of named) tensor.dispose();
  }
}

/**
 * Starts a worker pool. Each worker starts TF.js with `initEngine({ backend })` on the main
 * thread's backend (or `options.backend`).
 *
 * @throws UsageError `E_POOL_OPTION` for a bad option, `E_UNKNOWN_BACKEND` for a bad backend,
 *   `E_POOL_BACKEND` for an in-process pool asked for a backend other than the main thread's.
 * @throws EngineError `E_WORKER_START` when a worker cannot start.
 * @example
 * const pool = await createWorkerPool({ workers: 2 });
 * try { ... } finally { await pool.close(); }
 */
export async function createWorkerPool(options: WorkerPoolOptions = {}): Promise<WorkerPool> {
  const workers = wholeNumber('workers', options.workers, availableParallelism());
  const shardRows = wholeNumber('shardRows', options.shardRows, DEFAULT_SHARD_ROWS);
  const info = engineInfo() ?? (await initEngine());
  const backend = options.backend ?? info.backend;
  if (!(BACKEND_NAMES as readonly string[]).includes(backend)) {
    throw new UsageError('E_UNKNOWN_BACKEND', `Unknown backend '${backend}' for the worker pool; use ${listChoices(BACKEND_NAMES)}.`, { details: { value: backend, valid: BACKEND_NAMES } });
  }
  if (workers === 1 && backend !== info.backend) {
    throw new UsageError('E_POOL_BACKEND', `An in-process pool (workers: 1) runs on the main thread's backend '${info.backend}', not '${backend}'; use workers >= 2 or initEngine({ backend: '${backend}' }).`);
  }
  const pool = new WorkerPool(workers, backend, shardRows, options.onWorkerExit);
  await pool.start();
  return pool;
}

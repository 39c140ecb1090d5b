/**
 * The executor interface: rows of a data set, a threat and an attack in; per-row results
 * out. Every executor cuts the rows into the same fixed shards of `shardRows` rows and
 * seeds the shard at row offset `r` with `shardSeed(seed, r)`, so the same work and seed
 * give the same numbers on any executor: in this thread (`localExecutor`), on a worker
 * pool (`createWorkerPool`) with any number of workers.
 */
import type { Dataset } from '../core/types.js';
import type { Attack } from '../attacks/types.js';
import type { Classifier } from '../models/classifier.js';
import type { ThreatModel } from '../threats/threat-model.js';
import type { AttackShardResult, AttackSpec } from './shards.js';

/** Rows per attack shard unless told otherwise: on wasm, throughput is flat from 64 rows up. */
export const DEFAULT_SHARD_ROWS = 64;

/** How work ran, as reports record it: the number of workers and the shard size (the unit of seeding). */
export interface ExecutionInfo {
  workers: number;
  shardRows: number;
}

export interface RowsWork {
  data: Dataset;
  /** Indices into `data` to attack, in order; results come back in the same order. */
  rows: readonly number[];
  threat: ThreatModel;
  /** By registered id and options (any executor), or a live attack (runs in this thread only). */
  attack: AttackSpec | Attack;
  /** A targeted goal: one target class per row. */
  targets?: Int32Array;
  /** The work's seed; the shard at row offset `r` of `rows` uses `shardSeed(seed, r)`. */
  seed: number;
  /** Rows done so far (fractional while a shard runs), of `rows.length`. */
  onProgress?: (done: number, total: number) => void;
}

/** Per-row results in `rows` order; `adversarial` is row-major, `[rows.length, ...data.shape]`. */
export type RowsResult = AttackShardResult;

/**
 * A saved text filter (a directory `saveTextClassifier` wrote, with its normaliser and
 * decision threshold beside it) as an executor ships it: by its files, so a queue worker
 * loads exactly the filter the coordinator would (`loadSavedTextFilter`).
 */
export interface TextFilterModel {
  readonly kind: 'text-filter';
  readonly dir: string;
}

/** What an executor binds: an image/tabular classifier, or a saved text filter. */
export type ExecutionModel = Classifier | TextFilterModel;

/** True for a saved text filter. */
export function isTextFilterModel(model: ExecutionModel): model is TextFilterModel {
  return (model as Partial<TextFilterModel>).kind === 'text-filter' && typeof (model as Partial<TextFilterModel>).dir === 'string';
}

/**
 * Shards of a registered handler kind other than `attack` (e.g. `certify`, `text-attack`):
 * the caller cuts the work and seeds each shard by its row offset; the executor runs each
 * shard with the handler of `kind` against the session's model and returns the results in
 * shard order. Payloads are plain data with typed arrays (they may cross threads and Redis).
 */
export interface ShardsWork<P> {
  kind: string;
  shards: readonly P[];
  /** Rows in each shard, for progress; default 1 per shard. */
  rows?: readonly number[];
  /** Rows done so far (fractional while a shard runs), of the rows of all shards. */
  onProgress?: (done: number, total: number) => void;
}

/** An executor bound to one model, until `close()`. */
export interface ExecutorSession {
  /** How this session runs work (a pool runs a model it cannot ship, e.g. a defence wrapper, here). */
  readonly execution: ExecutionInfo;
  /**
   * Runs shards of a registered kind; results in shard order, the same on every executor.
   *
   * @throws UsageError `E_UNKNOWN_HANDLER`, the handler's own errors (InputError for rows that do not fit);
   *   EngineError for a worker that failed.
   */
  runShards<P, R>(work: ShardsWork<P>): Promise<R[]>;
  /**
   * @throws UsageError `E_UNKNOWN_ATTACK` / `E_ATTACK_OPTION`, `E_POOL_ATTACK` for a live attack on workers;
   *   InputError for rows that do not fit the model; EngineError for a worker that failed.
   */
  runRows(work: RowsWork): Promise<RowsResult>;
  close(): Promise<void>;
}

export interface Executor {
  /** Binds `model` (a pool copies it into every worker; a queue publishes it by digest). */
  open(model: ExecutionModel): Promise<ExecutorSession>;
}

/** Total rows of `work` and each shard's rows. */
export function shardRowCounts<P>(work: ShardsWork<P>): number[] {
  return work.shards.map((_, k) => work.rows?.[k] ?? 1);
}

/** True for a live attack, false for an id and options. */
export function isAttack(attack: AttackSpec | Attack): attack is Attack {
  return typeof (attack as Partial<Attack>).run === 'function';
}

/** The labels of `rows`, in order. */
export function rowLabels(data: Dataset, rows: readonly number[]): Int32Array {
  return Int32Array.from(rows, (r) => data.y[r] as number);
}

/**
 * Runs `work` with a session of `executor` for `model`, closing it afterwards.
 *
 * @example
 * const result = await withSession(pool, model, (session) => session.runRows({ data, rows, threat, attack: { id: 'pgd' }, seed: 0 }));
 */
export async function withSession<T>(
  executor: Executor,
  model: ExecutionModel,
  work: (session: ExecutorSession) => Promise<T>,
): Promise<T> {
  const session = await executor.open(model);
  try {
    return await work(session);
  } finally {
    await session.close();
  }
}

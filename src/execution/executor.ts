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

/** An executor bound to one model, until `close()`. */
export interface ExecutorSession {
  /** How this session runs work (a pool runs a model it cannot ship, e.g. a defence wrapper, here). */
  readonly execution: ExecutionInfo;
  /**
   * @throws UsageError `E_UNKNOWN_ATTACK` / `E_ATTACK_OPTION`, `E_POOL_ATTACK` for a live attack on workers;
   *   InputError for rows that do not fit the model; EngineError for a worker that failed.
   */
  runRows(work: RowsWork): Promise<RowsResult>;
  close(): Promise<void>;
}

export interface Executor {
  /** Binds `model` (a pool copies it into every worker). */
  open(model: Classifier): Promise<ExecutorSession>;
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
export async function withSession<T>(executor: Executor, model: Classifier, work: (session: ExecutorSession) => Promise<T>): Promise<T> {
  const session = await executor.open(model);
  try {
    return await work(session);
  } finally {
    await session.close();
  }
}

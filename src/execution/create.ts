/**
 * The wiring of the executors: each gets the built-in shard handlers (every registered
 * attack and objective) here, so the executors themselves import no attack or objective.
 */
import { availableParallelism } from 'node:os';
import { UsageError, listChoices } from '../core/errors.js';
import { BACKEND_NAMES, engineInfo, initEngine } from '../engine/backend.js';
import { DEFAULT_SHARD_ROWS } from './executor.js';
import { defaultHandlers } from './handlers/index.js';
import { LocalExecutor } from './local.js';
import { WorkerPool, wholeNumber, type WorkerPoolOptions } from './pool/pool.js';

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
    throw new UsageError('E_UNKNOWN_BACKEND', `Unknown backend '${backend}' for the worker pool; use ${listChoices(BACKEND_NAMES)}.`, {
      details: { value: backend, valid: BACKEND_NAMES },
    });
  }
  if (workers === 1 && backend !== info.backend) {
    throw new UsageError(
      'E_POOL_BACKEND',
      `An in-process pool (workers: 1) runs on the main thread's backend '${info.backend}', not '${backend}'; use workers >= 2 or initEngine({ backend: '${backend}' }).`,
    );
  }
  const pool = new WorkerPool(workers, backend, shardRows, defaultHandlers(), options.onWorkerExit);
  await pool.start();
  return pool;
}

/**
 * The executor that runs rows of work in this thread, in shards of `shardRows` (default
 * 64) seeded as a worker pool's are, so it gives the pool's numbers.
 *
 * @throws UsageError `E_POOL_OPTION` for a shard size that is not a whole number >= 1.
 * @example
 * const report = await evaluateRobustness({ model, data, norm: 'linf', epsilons: [0.3], attacks: [{ id: 'pgd' }], pool: localExecutor() });
 */
export function localExecutor(options: { shardRows?: number } = {}): LocalExecutor {
  return new LocalExecutor(wholeNumber('shardRows', options.shardRows, DEFAULT_SHARD_ROWS), defaultHandlers());
}

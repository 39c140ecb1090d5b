/**
 * `--queue redis://...` for `eval`, `attack` and `run`: attack shards go to `rampart worker`
 * processes through Redis instead of this machine's worker threads. The commands keep
 * their worker pool (a plan's training still runs on it, data-parallel); every session
 * (`open` → `runRows` / `runShards`: attacks, certification, text attacks) is routed to the
 * queue, so the numbers are the same.
 */
import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import type { Classifier } from '../../models/classifier.js';
import { createWorkerPool, type WorkerPool } from '../../execution/pool/index.js';
import { createQueueExecutor, redactUrl } from '../../execution/queue/index.js';

export interface ExecutionFlags {
  workers?: number;
  queue?: string;
}

export function addQueueFlag(command: Command): Command {
  return command.option(
    '--queue <url>',
    "run attack shards on 'rampart worker' processes through Redis, redis://[:password@]host:port (or $RAMPART_QUEUE); --workers then sizes only the local pool, in-process by default",
  );
}

/**
 * Runs `work` with a worker pool whose rows of attack work go to the queue at
 * `flags.queue` (or `queue`, e.g. a plan's `execution.queue`, or $RAMPART_QUEUE) when one
 * is given; with none, exactly `withPool`. Ctrl-C cancels the queued run (its jobs are
 * removed) before the command fails with `E_QUEUE_CANCELLED`. Everything is closed after.
 *
 * @throws UsageError `E_QUEUE_URL` for a URL that is not redis://...; EngineError from the queue or the pool.
 */
export async function withExecution<T>(
  flags: ExecutionFlags,
  backend: string,
  work: (pool: WorkerPool) => Promise<T>,
  queue?: string,
): Promise<T> {
  const url = flags.queue ?? queue ?? process.env.RAMPART_QUEUE;
  const pool = await createWorkerPool({ workers: flags.workers ?? (url ? 1 : availableParallelism()), backend });
  if (!url) {
    try {
      return await work(pool);
    } finally {
      await pool.close();
    }
  }
  let executor;
  try {
    executor = await createQueueExecutor({ url });
  } catch (error) {
    await pool.close();
    throw error;
  }
  const queued = executor;
  // The pool trains; the queue attacks. An own property shadows the class's `open`.
  pool.open = (model: Classifier) => queued.open(model);
  const interrupt = (): void => void queued.cancel('interrupted (Ctrl-C)');
  process.once('SIGINT', interrupt);
  process.stderr.write(`queue: ${redactUrl(url)} (${await queued.workers().catch(() => 0)} workers connected)\n`);
  try {
    return await work(pool);
  } finally {
    process.off('SIGINT', interrupt);
    await queued.close();
    await pool.close();
  }
}

/**
 * `concurrency > 1` for a queue worker: one worker thread per job slot, each with its own
 * TF.js engine and BullMQ worker (TF.js state is per thread, and the wasm backend is
 * single-threaded, so threads are how one process uses several cores). Started from
 * compiled JS or, under tsx, through the same bootstrap the pool uses (see pool/spawn.ts).
 */
import { Worker } from 'node:worker_threads';
import type { QueueWorkerOptions } from './options.js';
import type { WorkerEvent } from './worker.js';

/** What the host sends a queue worker thread at start. */
export interface QueueThreadBoot {
  options: QueueWorkerOptions;
  slot: number;
}

/** Messages from a queue worker thread. */
export type QueueThreadMessage =
  { type: 'ready' } | { type: 'event'; event: WorkerEvent } | { type: 'fatal'; message: string; code?: string };

export function spawnQueueThread(boot: QueueThreadBoot): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./thread-entry.js', import.meta.url), { workerData: boot });
  const entry = new URL('./thread-entry.ts', import.meta.url).href;
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(bootstrap, { eval: true, execArgv: [], workerData: boot });
}

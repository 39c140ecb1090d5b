/**
 * Starting a pool worker thread from compiled JS and from TypeScript under tsx.
 *
 * Compiled (dist/): the worker is `./worker.js` next to this file.
 *
 * Under tsx (this file's URL ends in `.ts`): Node 20 cannot start a `.ts` worker entry,
 * and `execArgv: ['--import', 'tsx']` does not help there: tsx's `--import` entry only
 * registers its loader on the main thread for Node < 22 (checked with tsx 4.23 on Node
 * 20.20: the worker fails with ERR_UNKNOWN_FILE_EXTENSION either way). What works on both
 * Node 20 and 22 is a tiny JS bootstrap that registers tsx through its API inside the
 * worker (`tsx/esm/api` `register()`), then imports `./worker.ts`. The parent's execArgv
 * (tsx's preflight and loader flags, `--test`...) is not inherited in that mode.
 */
import { Worker } from 'node:worker_threads';
import type { WorkerBootData } from './protocol.js';

/** True when this module runs as TypeScript source (tsx), false when compiled. */
export function runningFromSource(): boolean {
  return import.meta.url.endsWith('.ts');
}

export function spawnPoolWorker(boot: WorkerBootData): Worker {
  if (!runningFromSource()) {
    return new Worker(new URL('./worker.js', import.meta.url), { workerData: boot });
  }
  const entry = new URL('./worker.ts', import.meta.url).href;
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(bootstrap, { eval: true, execArgv: [], workerData: boot });
}

/**
 * Worker-thread entry of the pool. Starts TF.js on the main thread's backend, then runs
 * requests one at a time (TF.js state is per thread; serial handling keeps `tf.memory()`
 * and model weights consistent between requests). The entry registers the built-in shard
 * handlers, so the scheduler itself never imports an attack or objective. Loaded both as
 * compiled JS (dist/execution/pool/worker.js) and, under tsx, as this .ts file; see spawn.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { initEngine } from '../../engine/backend.js';
import { defaultHandlers } from '../handlers/index.js';
import { serializeError, type RequestEnvelope, type WorkerBootData, type WorkerMessage } from './protocol.js';
import { PoolRuntime } from './runtime.js';

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('src/execution/pool/worker.ts must run as a worker thread.');
  const post = (message: WorkerMessage, transfer: ArrayBuffer[] = []): void => port.postMessage(message, transfer);
  const boot = workerData as WorkerBootData;
  try {
    const info = await initEngine({ backend: boot.backend });
    post({ type: 'ready', backend: info.backend });
  } catch (error) {
    post({ type: 'init-error', error: serializeError(error) });
    return;
  }
  const runtime = new PoolRuntime(defaultHandlers());
  let chain: Promise<void> = Promise.resolve();
  port.on('message', (envelope: RequestEnvelope) => {
    const { id, request } = envelope;
    // Fault injection: leave now, the way a crashing thread would, even mid-request.
    if (request.op === 'exit') process.exit(request.code);
    chain = chain.then(async () => {
      try {
        const result = await runtime.handle(request, (done, total) => post({ type: 'progress', id, done, total }));
        post({ type: 'result', id, result }, runtime.transferables(request, result));
      } catch (error) {
        post({ type: 'error', id, error: serializeError(error) });
      }
    });
  });
}

void main();

/**
 * Entry of one queue worker thread (see threads.ts): starts TF.js on the host's backend and
 * a queue worker with the built-in handlers; 'close' from the host finishes the job in hand.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { RampartError } from '../../core/errors.js';
import { initEngine } from '../../engine/backend.js';
import { defaultHandlers } from '../handlers/index.js';
import type { QueueThreadBoot, QueueThreadMessage } from './threads.js';
import { startQueueWorker } from './worker.js';

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('thread-entry.ts must run as a worker thread.');
  const post = (m: QueueThreadMessage): void => port.postMessage(m);
  const boot = workerData as QueueThreadBoot;
  try {
    await initEngine({ backend: String(boot.options.backend) });
    const worker = await startQueueWorker(boot.options, defaultHandlers(), (event) => post({ type: 'event', event }));
    port.on('message', (m: { type?: string }) => {
      if (m.type === 'close') void worker.close().then(() => process.exit(0));
    });
    post({ type: 'ready' });
  } catch (error) {
    post({
      type: 'fatal',
      message: error instanceof Error ? error.message : String(error),
      ...(error instanceof RampartError ? { code: error.code } : {}),
    });
  }
}

void main();

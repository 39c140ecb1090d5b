/**
 * The capture writer's thread: receives batches of queued captures, prepares them and
 * writes each batch in one transaction on its own database connection, so neither the
 * conversion nor SQLite ever runs on the server's event loop. Messages are handled in
 * order, so `drain` is answered only after every batch sent before it is written.
 */
import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { openGovernance } from './governance.js';
import { prepareCapture, type RawCapture } from './capture-prepare.js';
import type { CaptureLimits, RedactionOptions } from './capture-types.js';

export interface CaptureWriterBoot {
  dir: string;
  limits: CaptureLimits;
  redact: RedactionOptions;
}

export type CaptureWriterMessage = { type: 'write'; batch: RawCapture[] } | { type: 'drain' };
export type CaptureWriterReply =
  | { type: 'written'; written: number; skipped: number; evicted: number }
  | { type: 'failed'; error: string; lost: number }
  | { type: 'drained' };

const boot = workerData as CaptureWriterBoot;

/**
 * On Linux, lowers this thread's scheduling priority (nice +10, its own thread id from
 * /proc/thread-self): on a busy machine the writer then waits for CPU rather than the
 * server's event loop. Best effort; elsewhere, or when refused, the thread runs as is.
 */
function yieldToRequests(): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, Math.min(19, getPriority(tid) + 10));
  } catch {
    // Not Linux, or not permitted: nothing to do.
  }
}
yieldToRequests();
// No fsync per commit: a crash of the process keeps every commit (WAL), only a power loss could cost the last ones.
const gov = openGovernance(boot.dir, { actor: 'rampart-serve', durability: 'normal' });
const port = parentPort;
port?.on('message', (message: CaptureWriterMessage) => {
  if (message.type === 'drain') {
    gov.close();
    port.postMessage({ type: 'drained' } satisfies CaptureWriterReply);
    return;
  }
  try {
    const items = message.batch.flatMap(prepareCapture);
    const r = gov.captures.write(items, { limits: boot.limits, redact: boot.redact });
    port.postMessage({ type: 'written', written: r.written, skipped: r.skipped, evicted: r.evicted } satisfies CaptureWriterReply);
  } catch (error) {
    const reply: CaptureWriterReply = {
      type: 'failed',
      error: error instanceof Error ? error.message : String(error),
      lost: message.batch.length,
    };
    port.postMessage(reply);
  }
});

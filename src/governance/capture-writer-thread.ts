/**
 * The capture writer's thread: receives batches of queued captures, prepares them and
 * writes them in small transactions on its own database connection, so neither the
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

/**
 * Items prepared and written per transaction, with a 1 ms sleep between slices: the thread
 * holds a CPU for about 2 ms at a time (~0.13 ms an item) rather than through a whole
 * batch, so on a machine with more runnable threads than cores the server's event loop
 * does not wait long for one. Small enough for that, large enough to keep the audit log
 * at one `capture` entry per 16 items.
 */
const SLICE = 16;
const pause = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 1));

function writeSlice(batch: RawCapture[]): void {
  try {
    const items = batch.flatMap(prepareCapture);
    const r = gov.captures.write(items, { limits: boot.limits, redact: boot.redact });
    port?.postMessage({ type: 'written', written: r.written, skipped: r.skipped, evicted: r.evicted } satisfies CaptureWriterReply);
  } catch (error) {
    const reply: CaptureWriterReply = { type: 'failed', error: error instanceof Error ? error.message : String(error), lost: batch.length };
    port?.postMessage(reply);
  }
}

async function handle(message: CaptureWriterMessage): Promise<void> {
  if (message.type === 'drain') {
    gov.close();
    port?.postMessage({ type: 'drained' } satisfies CaptureWriterReply);
    return;
  }
  for (let i = 0; i < message.batch.length; i += SLICE) {
    if (i > 0) await pause();
    writeSlice(message.batch.slice(i, i + SLICE));
  }
}

// One message at a time, in order: `drain` is answered only after every batch sent before it is written.
let chain: Promise<void> = Promise.resolve();
port?.on('message', (message: CaptureWriterMessage) => {
  chain = chain.then(() => handle(message));
});

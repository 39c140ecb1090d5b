/**
 * Starts the capture writer thread (see capture-writer-thread.ts) from compiled JS or, under
 * tsx, through a small bootstrap that registers tsx inside the thread (the same way the
 * worker pool starts its workers; Node 20 cannot start a `.ts` worker entry directly).
 */
import { Worker } from 'node:worker_threads';
import { packBatch, type RawCapture } from './capture-prepare.js';
import type { CaptureWriterBoot, CaptureWriterMessage, CaptureWriterReply } from './capture-writer-thread.js';

export interface CaptureWriter {
  /** Hands a batch to the thread (its bytes moved, the rest a small structured clone; nothing is parsed or written here). */
  send(batch: RawCapture[]): void;
  /** Resolves once every batch sent before it is written; then the thread exits. */
  drain(): Promise<void>;
}

export interface CaptureWriterEvents {
  onWritten?(r: { written: number; skipped: number; evicted: number }): void;
  onFailed?(error: string, lost: number): void;
}

/**
 * @throws whatever opening the registry throws, reported through `onFailed` and on `drain`.
 * @example const writer = startCaptureWriter({ dir: '.rampart', limits, redact }, { onFailed: (e) => log.error(e) });
 */
export function startCaptureWriter(boot: CaptureWriterBoot, events: CaptureWriterEvents = {}): CaptureWriter {
  const fromSource = import.meta.url.endsWith('.ts');
  let worker: Worker;
  if (fromSource) {
    const entry = new URL('./capture-writer-thread.ts', import.meta.url).href;
    const tsxApi = import.meta.resolve('tsx/esm/api');
    const bootstrap = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
    worker = new Worker(bootstrap, { eval: true, execArgv: [], workerData: boot });
  } else {
    worker = new Worker(new URL('./capture-writer-thread.js', import.meta.url), { workerData: boot });
  }
  let drained: (() => void) | undefined;
  let exited = false;
  const done = new Promise<void>((resolve) => (drained = resolve));
  worker.on('message', (m: CaptureWriterReply) => {
    if (m.type === 'written') events.onWritten?.(m);
    else if (m.type === 'failed') events.onFailed?.(m.error, m.lost);
    else drained?.();
  });
  worker.on('error', (e) => events.onFailed?.(e instanceof Error ? e.message : String(e), 0));
  worker.on('exit', () => {
    exited = true;
    drained?.();
  });
  // The thread must not keep a stopping process alive; drain() is what waits for it.
  worker.unref();
  return {
    send(batch) {
      if (exited) return;
      // Body bytes (small ones packed into one buffer first) and compacted image buffers are moved to the thread, not cloned.
      const packed = packBatch(batch);
      worker.postMessage({ type: 'write', batch: packed.batch } satisfies CaptureWriterMessage, packed.transfer);
    },
    async drain() {
      worker.ref();
      if (!exited) worker.postMessage({ type: 'drain' } satisfies CaptureWriterMessage);
      await done;
      await worker.terminate();
    },
  };
}

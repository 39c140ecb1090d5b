/**
 * The write-behind queue between a request and the capture writer. `offer` is what a
 * request pays: a sampling draw and an array push, never I/O. Batches of `batchSize` are
 * handed to `write` later, on a timer or as soon as a batch is full (on `setImmediate`, so
 * the request that filled it is answered first). A full queue drops new items and counts
 * them; `drain` (at shutdown) hands over every item it accepted and waits for the writer,
 * so an accepted item is lost only if the database refuses it.
 */
import { randomInt } from 'node:crypto';

export interface CaptureQueueOptions<T> {
  /** Takes one batch (the server's writer posts it to the writer thread). A throw keeps the batch for a retry. */
  write(batch: T[]): void;
  /** Waits until everything handed to `write` is stored (called last by `drain`). */
  settle?(): Promise<void>;
  sample: number;
  queueSize: number;
  batchSize: number;
  flushMs: number;
  onError?(error: unknown, pending: number): void;
  /** Random draw in [0, 1) for sampling (tests pass a seeded one). */
  random?: () => number;
}

export interface CaptureQueueStats {
  accepted: number;
  dropped: number;
  sampledOut: number;
  /** Items handed to the writer. */
  handedOver: number;
  failures: number;
  pending: number;
}

export interface CaptureQueue<T> {
  /** True when the item was accepted (it will be written); false when sampled out, full or closed. */
  offer(raw: T): boolean;
  /** Hands over what is queued now, one batch per turn of the event loop. */
  flush(): void;
  /** Stops accepting, hands over everything accepted, waits for the writer, stops the timer. */
  drain(): Promise<void>;
  stats(): CaptureQueueStats;
}

/**
 * Builds a queue and starts its flush timer (unref'd, so it never keeps a process alive).
 *
 * @example
 * const q = createCaptureQueue({ write: (batch) => writer.send(batch), settle: () => writer.drain(),
 *   sample: 1, queueSize: 1024, batchSize: 64, flushMs: 500 });
 */
export function createCaptureQueue<T>(options: CaptureQueueOptions<T>): CaptureQueue<T> {
  // Unpredictable to clients (they must not learn which requests are kept); tests inject their own.
  const random = options.random ?? (() => randomInt(0, 2 ** 47) / 2 ** 47);
  let queue: T[] = [];
  let closed = false;
  let scheduled = false;
  const s = { accepted: 0, dropped: 0, sampledOut: 0, handedOver: 0, failures: 0 };

  /** Hands over up to one batch; false when the writer refused it (the batch stays queued, in order). */
  function handOver(): boolean {
    if (queue.length === 0) return true;
    const batch = queue.slice(0, options.batchSize);
    try {
      options.write(batch);
    } catch (error) {
      s.failures++;
      options.onError?.(error, queue.length);
      return false;
    }
    queue = queue.slice(batch.length);
    s.handedOver += batch.length;
    return true;
  }

  function flush(): void {
    scheduled = false;
    if (handOver() && queue.length > 0 && !closed) schedule();
  }

  function schedule(): void {
    if (scheduled) return;
    scheduled = true;
    setImmediate(flush);
  }

  const timer = setInterval(() => {
    if (queue.length > 0) schedule();
  }, options.flushMs);
  timer.unref();

  return {
    offer(raw) {
      if (closed) return false;
      if (options.sample < 1 && random() >= options.sample) {
        s.sampledOut++;
        return false;
      }
      if (queue.length >= options.queueSize) {
        s.dropped++;
        return false;
      }
      queue.push(raw);
      s.accepted++;
      if (queue.length >= options.batchSize) schedule();
      return true;
    },
    flush,
    async drain() {
      closed = true;
      clearInterval(timer);
      // A batch refused twice in a row means the writer is gone; stop rather than spin.
      let refused = 0;
      while (queue.length > 0 && refused < 2) refused = handOver() ? 0 : refused + 1;
      await options.settle?.();
    },
    stats: () => ({ ...s, pending: queue.length }),
  };
}

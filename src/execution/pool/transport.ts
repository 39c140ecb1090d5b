/**
 * How the pool talks to one worker: a real thread (`ThreadTransport`) or the in-process
 * runtime (`LocalTransport`, for `workers: 1`). Both reject a failed request with a
 * `WorkerFailure` (the worker threw) or a `WorkerExit` (the thread ended); the pool turns
 * those into typed `EngineError`s.
 */
import type { Worker } from 'node:worker_threads';
import {
  deserializeError,
  serializeError,
  type PoolRequest,
  type PoolResponse,
  type RequestEnvelope,
  type SerializedError,
  type WorkerBootData,
  type WorkerMessage,
} from './protocol.js';
import type { HandlerRegistry } from '../handlers/registry.js';
import { PoolRuntime, type ProgressSink } from './runtime.js';
import { spawnPoolWorker } from './spawn.js';

/** The worker ran the request and threw. */
export class WorkerFailure extends Error {
  constructor(
    readonly error: SerializedError,
    /** The thrown value itself, when it never crossed a thread. */
    readonly original?: unknown,
  ) {
    super(error.message);
    this.name = 'WorkerFailure';
  }

  /** The worker's error as its own class (a RampartError subclass when it was one). */
  toCause(): unknown {
    return this.original ?? deserializeError(this.error);
  }
}

/** The worker thread ended while the request was pending (or before it was sent). */
export class WorkerExit extends Error {
  constructor(
    readonly exitCode: number,
    readonly error?: Error,
  ) {
    super(`worker exited with code ${exitCode}${error ? `: ${error.message}` : ''}`);
    this.name = 'WorkerExit';
  }
}

export interface Transport {
  run(request: PoolRequest, transfer: ArrayBuffer[], onProgress?: ProgressSink): Promise<PoolResponse>;
  /** Ends the worker; pending requests reject with `WorkerExit`. */
  terminate(): Promise<void>;
}

export class LocalTransport implements Transport {
  private readonly runtime: PoolRuntime;
  private readonly running = new Set<Promise<unknown>>();

  constructor(handlers: HandlerRegistry) {
    this.runtime = new PoolRuntime(handlers);
  }

  run(request: PoolRequest, _transfer: ArrayBuffer[], onProgress?: ProgressSink): Promise<PoolResponse> {
    const run = (async () => {
      try {
        return await this.runtime.handle(request, onProgress);
      } catch (error) {
        throw new WorkerFailure(serializeError(error), error);
      }
    })();
    const tracked = run.catch(() => undefined).finally(() => this.running.delete(tracked));
    this.running.add(tracked);
    return run;
  }

  /** Lets a running request finish (its model copies are about to go), then disposes them. */
  async terminate(): Promise<void> {
    await Promise.all(this.running);
    this.runtime.dispose();
  }
}

interface Pending {
  resolve: (value: PoolResponse) => void;
  reject: (error: Error) => void;
  onProgress?: ProgressSink;
}

export class ThreadTransport implements Transport {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private exited: WorkerExit | undefined;
  private lastError: Error | undefined;
  private terminating = false;
  private readonly ready: Promise<void>;

  /**
   * Spawns a worker and resolves once its engine has started.
   *
   * @param onExit called when the thread ends without `terminate()` (a crash).
   */
  static async start(boot: WorkerBootData, onExit: (transport: ThreadTransport, exit: WorkerExit) => void): Promise<ThreadTransport> {
    const transport = new ThreadTransport(spawnPoolWorker(boot), onExit);
    try {
      await transport.ready;
    } catch (error) {
      await transport.terminate();
      throw error;
    }
    return transport;
  }

  private constructor(
    private readonly worker: Worker,
    onExit: (transport: ThreadTransport, exit: WorkerExit) => void,
  ) {
    let settleReady: { resolve: () => void; reject: (e: Error) => void } | undefined;
    this.ready = new Promise<void>((resolve, reject) => {
      settleReady = { resolve, reject };
    });
    worker.on('message', (message: WorkerMessage) => {
      switch (message.type) {
        case 'ready':
          settleReady?.resolve();
          return;
        case 'init-error':
          settleReady?.reject(new WorkerFailure(message.error));
          return;
        case 'progress':
          this.pending.get(message.id)?.onProgress?.(message.done, message.total);
          return;
        case 'result':
        case 'error': {
          const entry = this.pending.get(message.id);
          if (!entry) return;
          this.pending.delete(message.id);
          if (message.type === 'result') entry.resolve(message.result);
          else entry.reject(new WorkerFailure(message.error));
        }
      }
    });
    worker.on('error', (error: Error) => {
      this.lastError = error;
    });
    worker.on('exit', (code: number) => {
      const exit = new WorkerExit(code, this.lastError);
      this.exited = exit;
      settleReady?.reject(exit);
      for (const entry of this.pending.values()) entry.reject(exit);
      this.pending.clear();
      if (!this.terminating) onExit(this, exit);
    });
  }

  run(request: PoolRequest, transfer: ArrayBuffer[], onProgress?: ProgressSink): Promise<PoolResponse> {
    if (this.exited) return Promise.reject(this.exited);
    const id = this.nextId++;
    return new Promise<PoolResponse>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, ...(onProgress ? { onProgress } : {}) });
      try {
        const envelope: RequestEnvelope = { id, request };
        this.worker.postMessage(envelope, transfer);
      } catch (error) {
        this.pending.delete(id);
        reject(new WorkerFailure(serializeError(error), error));
      }
    });
  }

  async terminate(): Promise<void> {
    this.terminating = true;
    await this.worker.terminate();
  }
}

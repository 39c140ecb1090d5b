/**
 * Crash recovery: starting each worker, and replacing one that ends unexpectedly. A new
 * worker replays the pool's model state (every loaded model with its latest weights)
 * before it takes jobs, so a replacement is indistinguishable from the original; a slot
 * whose start fails three times in a row is given up, and its jobs fail typed.
 */
import { EngineError, UsageError } from '../../core/errors.js';
import type { HandlerRegistry } from '../handlers/registry.js';
import type { LoadRequest } from './protocol.js';
import type { Scheduler, Slot } from './scheduler.js';
import { LocalTransport, ThreadTransport, WorkerExit, WorkerFailure, type Transport } from './transport.js';

const MAX_START_FAILURES = 3;

export interface WorkerExitEvent {
  worker: number;
  exitCode: number;
  /** The uncaught error that ended the thread, if any. */
  error?: Error;
}

export interface SupervisorOptions {
  inProcess: boolean;
  backend: string;
  /** The registry an in-process worker runs shards with (threads register their own). */
  handlers: HandlerRegistry;
  /** The load requests that rebuild the pool's model state in a new worker, in load order. */
  replay: () => Array<[LoadRequest, ArrayBuffer[]]>;
  onWorkerExit?: (event: WorkerExitEvent) => void;
}

export class Supervisor {
  constructor(
    private readonly scheduler: Scheduler,
    private readonly options: SupervisorOptions,
  ) {}

  /** Starts (or restarts) the worker of `slot`; resolves once it is ready or given up. */
  startSlot(slot: Slot): Promise<void> {
    const starting = this.runStart(slot).finally(() => {
      if (slot.starting === starting) slot.starting = undefined;
    });
    slot.starting = starting;
    return starting;
  }

  /**
   * Fault injection for tests and drills: worker `index` exits now with `code`, as a
   * crashing thread would. Resolves once the thread has gone.
   *
   * @throws UsageError `E_POOL_IN_PROCESS` for an in-process pool, `E_POOL_WORKER` for a bad index or a worker not running.
   */
  async crash(index: number, code: number): Promise<void> {
    this.scheduler.assertOpen();
    if (this.options.inProcess) throw new UsageError('E_POOL_IN_PROCESS', 'An in-process pool (workers: 1) has no worker thread to crash.');
    const slot = this.scheduler.slots[index];
    if (!slot?.transport || slot.state !== 'ready') {
      throw new UsageError(
        'E_POOL_WORKER',
        `Worker ${index} is not running; this pool has workers 0..${this.scheduler.slots.length - 1}.`,
        { details: { worker: index, state: slot?.state } },
      );
    }
    await slot.transport.run({ op: 'exit', code }, []).catch((error: unknown) => {
      if (!(error instanceof WorkerExit)) throw error;
    });
  }

  private async runStart(slot: Slot): Promise<void> {
    const { scheduler, options } = this;
    slot.state = 'starting';
    slot.transport = undefined;
    while (!scheduler.closed) {
      let transport: Transport | undefined;
      try {
        transport = options.inProcess
          ? new LocalTransport(options.handlers)
          : await ThreadTransport.start({ backend: options.backend }, (t, exit) => this.onExit(slot, t, exit));
        // Replay the pool's model state, so a replacement is indistinguishable from the original.
        for (const load of options.replay()) await transport.run(...load);
        if (scheduler.closed) {
          await transport.terminate();
          return;
        }
        slot.transport = transport;
        slot.state = 'ready';
        slot.failures = 0;
        scheduler.pump();
        return;
      } catch (error) {
        await transport?.terminate();
        slot.failures++;
        if (slot.failures >= MAX_START_FAILURES) {
          const cause = error instanceof WorkerFailure ? error.toCause() : error;
          slot.deadCause = cause instanceof Error ? cause : new Error(String(cause));
          slot.deadError = new EngineError(
            'E_WORKER_FAILED',
            `Pool worker ${slot.index} could not be restarted after ${MAX_START_FAILURES} attempts: ${slot.deadCause.message}.`,
            {
              cause: slot.deadCause,
              details: { worker: slot.index },
            },
          );
          scheduler.markDead(slot);
          return;
        }
      }
    }
  }

  private onExit(slot: Slot, transport: ThreadTransport, exit: WorkerExit): void {
    // Exits of a transport still starting are the start loop's business.
    if (this.scheduler.closed || slot.transport !== transport) return;
    this.options.onWorkerExit?.({ worker: slot.index, exitCode: exit.exitCode, ...(exit.error ? { error: exit.error } : {}) });
    void this.startSlot(slot);
  }
}

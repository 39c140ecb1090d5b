/**
 * The handler registry: each kind of shard work (an attack shard, a gradients shard...) is
 * a handler registered under a stable kind. Executors, the pool's scheduler and its worker
 * runtime move payloads and call handlers by kind; only the wiring that registers the
 * handlers knows which attacks or objectives exist.
 */
import type * as tf from '@tensorflow/tfjs';
import { UsageError, listChoices } from '../../core/errors.js';
import type { Classifier } from '../../models/classifier.js';

/** Progress of one shard, in the handler's own units (e.g. attack steps). */
export type ProgressSink = (done: number, total: number) => void;

/** What a shard runs against: a classifier, and the LayersModel behind it when there is one. */
export interface ShardTarget {
  classifier: Classifier;
  /** Present for a TF.js model (always in a pool worker); gradient work needs it. */
  model?: tf.LayersModel;
}

/** What a main-thread check knows of a model without holding it. */
export type ModelInfo = Pick<Classifier, 'id' | 'inputShape' | 'numClasses'>;

export interface ShardHandler<P = unknown, R = unknown> {
  /** Stable kind, the key requests name it by. */
  readonly kind: string;
  /**
   * Runs on the main thread before any work is sent, on the whole request: throws the
   * typed error a bad payload deserves (unknown id, bad option, inputs that do not fit).
   */
  check?(payload: P, model: ModelInfo): void | Promise<void>;
  /** Runs one shard, in a worker or in this thread; disposes every tensor it makes. */
  run(target: ShardTarget, payload: P, onProgress?: ProgressSink): Promise<R>;
  /** Buffers of a result that can be moved, not copied, to another thread. */
  transferables?(result: R): ArrayBuffer[];
}

/** Handlers by kind. One registry per runtime: handlers may cache (e.g. built objectives). */
export class HandlerRegistry {
  private readonly handlers = new Map<string, ShardHandler>();

  /**
   * @throws UsageError `E_HANDLER_KIND` when the kind is already registered.
   * @example registry.register(attackHandler());
   */
  register<P, R>(handler: ShardHandler<P, R>): this {
    if (this.handlers.has(handler.kind)) {
      throw new UsageError('E_HANDLER_KIND', `A handler for '${handler.kind}' is already registered; register each kind once.`, {
        details: { kind: handler.kind },
      });
    }
    this.handlers.set(handler.kind, handler as ShardHandler);
    return this;
  }

  /**
   * @throws UsageError `E_UNKNOWN_HANDLER` naming the registered kinds.
   */
  get<P = unknown, R = unknown>(kind: string): ShardHandler<P, R> {
    const handler = this.handlers.get(kind);
    if (!handler) {
      throw new UsageError('E_UNKNOWN_HANDLER', `No handler for shard work '${kind}'; registered: ${listChoices(this.kinds())}.`, {
        details: { value: kind, valid: this.kinds() },
      });
    }
    return handler as ShardHandler<P, R>;
  }

  kinds(): string[] {
    return [...this.handlers.keys()];
  }
}

/**
 * The handler registry: each kind of shard work (an attack shard, a gradients shard...) is
 * a handler registered under a stable kind. Executors, the pool's scheduler and its worker
 * runtime move payloads and call handlers by kind; only the wiring that registers the
 * handlers knows which attacks or objectives exist.
 */
import type * as tf from '@tensorflow/tfjs';
import { UsageError, listChoices } from '../../core/errors.js';
import type { Classifier } from '../../models/classifier.js';
import type { TextClassifier } from '../../models/text/text-classifier.js';

/** Progress of one shard, in the handler's own units (e.g. attack steps). */
export type ProgressSink = (done: number, total: number) => void;

/** What a shard runs against: a classifier, and the LayersModel behind it when there is one. */
export interface ShardTarget {
  classifier: Classifier;
  /** Present for a TF.js model (always in a pool worker); gradient work needs it. */
  model?: tf.LayersModel;
}

/** What text shards run against: a saved text filter as deployed (normaliser and threshold included). */
export interface TextShardTarget {
  text: TextClassifier;
}

/** Any shard target; a handler narrows it to the one it needs. */
export type AnyShardTarget = ShardTarget | TextShardTarget;

/** What a main-thread check knows of a model without holding it. */
export type ModelInfo = Pick<Classifier, 'id' | 'inputShape' | 'numClasses'>;

export interface ShardHandler<P = unknown, R = unknown, T extends AnyShardTarget = ShardTarget> {
  /** Stable kind, the key requests name it by. */
  readonly kind: string;
  /**
   * Runs on the main thread before any work is sent, on the whole request: throws the
   * typed error a bad payload deserves (unknown id, bad option, inputs that do not fit).
   */
  check?(payload: P, model: ModelInfo): void | Promise<void>;
  /** Runs one shard, in a worker or in this thread; disposes every tensor it makes. */
  run(target: T, payload: P, onProgress?: ProgressSink): Promise<R>;
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
  register<P, R, T extends AnyShardTarget>(handler: ShardHandler<P, R, T>): this {
    if (this.handlers.has(handler.kind)) {
      throw new UsageError('E_HANDLER_KIND', `A handler for '${handler.kind}' is already registered; register each kind once.`, {
        details: { kind: handler.kind },
      });
    }
    this.handlers.set(handler.kind, handler as unknown as ShardHandler);
    return this;
  }

  /**
   * @throws UsageError `E_UNKNOWN_HANDLER` naming the registered kinds.
   */
  get<P = unknown, R = unknown>(kind: string): ShardHandler<P, R, AnyShardTarget> {
    const handler = this.handlers.get(kind);
    if (!handler) {
      throw new UsageError('E_UNKNOWN_HANDLER', `No handler for shard work '${kind}'; registered: ${listChoices(this.kinds())}.`, {
        details: { value: kind, valid: this.kinds() },
      });
    }
    // A handler that needs a classifier checks for one (`classifierTarget`): executors pass what the session holds.
    return handler as unknown as ShardHandler<P, R, AnyShardTarget>;
  }

  kinds(): string[] {
    return [...this.handlers.keys()];
  }
}

/**
 * `target` as a classifier target.
 *
 * @throws UsageError `E_EXECUTOR_MODEL` for a text filter: this kind of shard needs a classifier.
 */
export function classifierTarget(target: AnyShardTarget, kind: string): ShardTarget {
  if ('classifier' in target) return target;
  throw new UsageError(
    'E_EXECUTOR_MODEL',
    `Shards of kind '${kind}' need a classifier; this session holds a text filter. Open the session with the classifier.`,
  );
}

/**
 * What the trainer needs to train data-parallel, declared here so that training depends on
 * an interface, not on an executor: something that keeps copies of a model, computes the
 * weight gradients of a batch's mean loss across them, and takes the updated weights.
 * The worker pool (`src/execution/`) implements it; the caller injects it.
 */
import * as tf from '@tensorflow/tfjs';
import type { Bounds } from '../core/types.js';
import type { Exposure } from './curriculum.js';
import type { ObjectiveSpec } from './objectives/types.js';

/** Epoch, step, seed and exposure of a batch; a shard starting at row `r` gets its own seed from (seed, r). */
export interface ShardBatchContext {
  epoch: number;
  step: number;
  seed: number;
  exposure?: Exposure;
}

export interface ShardGradientsRequest {
  /** Row-major inputs, `shape` (default `[labels.length, ...inputShape]`). */
  x: Float32Array;
  shape?: readonly number[];
  labels: Int32Array;
  /**
   * The training objective, as `createObjective` takes it; default `{ id: 'standard' }`.
   * Each shard runs the objective's `prepare` (e.g. the PGD inner maximisation) on its own
   * rows. Adversarial weight perturbation needs the whole batch and is refused.
   */
  objective?: ObjectiveSpec;
  batch?: ShardBatchContext;
}

export interface ShardedGradients {
  /** Mean loss over the whole batch. */
  loss: number;
  count: number;
  /** Gradients of the mean loss, in `model.trainableWeights` order. */
  gradients: Float32Array[];
  /** Main-thread variable names, aligned with `gradients`. */
  names: readonly string[];
  shapes: readonly (readonly number[])[];
}

/** Copies of one model, open for gradient work until `close()`. */
export interface GradientShards {
  /** Gradients of the batch's mean loss, computed across the copies. */
  gradients(request: ShardGradientsRequest): Promise<ShardedGradients>;
  /** Gives every copy the model's current weights (after an update on this thread). */
  setWeights(model: tf.LayersModel): Promise<void>;
  /** Drops the copies. */
  close(): Promise<void>;
}

export interface GradientSharder {
  /** Copies `model` (with its input `bounds`) to where the shards run. */
  openGradients(model: tf.LayersModel, bounds: Bounds): Promise<GradientShards>;
}

/**
 * Applies sharded gradients with a main-thread optimiser to the variables they name.
 *
 * @example applyPoolGradients(optimizer, await shards.gradients({ x, labels }));
 */
export function applyPoolGradients(optimizer: tf.Optimizer, grads: Pick<ShardedGradients, 'gradients' | 'names' | 'shapes'>): void {
  const named = grads.names.map((name, i) => {
    const tensor = tf.tensor(grads.gradients[i] as Float32Array, [...(grads.shapes[i] ?? [])], 'float32');
    return { name, tensor };
  });
  try {
    optimizer.applyGradients(named);
  } finally {
    for (const { tensor } of named) tensor.dispose();
  }
}

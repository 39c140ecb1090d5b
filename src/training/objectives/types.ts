/**
 * A training objective: how one batch becomes a loss. Adversarial objectives (PGD-AT,
 * TRADES, ...) prepare their inputs outside the weight-gradient tape, then score them;
 * the trainer's loop is the same for all of them.
 */
import type * as tf from '@tensorflow/tfjs';
import type { Exposure } from '../curriculum.js';
import type { ObjectiveOptions } from './schemas.js';

/**
 * How to rebuild an objective elsewhere (`createObjective(id, options)`), e.g. inside a
 * pool worker that prepares and scores its own shard of the batch. Plain data.
 */
export interface ObjectiveSpec {
  id: string;
  options?: ObjectiveOptions;
}

export interface ObjectiveBatch {
  /** `[batch, ...inputShape]` clean inputs. */
  x: tf.Tensor;
  /** `[batch]` int32 labels. */
  y: tf.Tensor1D;
  epoch: number;
  step: number;
  seed: number;
  /** Phased exposure: this batch's fraction of the threat (and steps); absent means the full threat. */
  exposure?: Exposure;
}

export interface Objective {
  readonly id: string;
  readonly config: Readonly<Record<string, unknown>>;
  /** Inputs to train on for this batch, e.g. adversarial examples; default: the clean batch. */
  prepare?(model: tf.LayersModel, batch: ObjectiveBatch): Promise<tf.Tensor>;
  /** Scalar loss to minimise over the weights; runs inside the gradient tape. */
  loss(model: tf.LayersModel, batch: ObjectiveBatch, prepared: tf.Tensor): tf.Scalar;
  /**
   * Set when the loss is exactly the mean cross-entropy of the model on the prepared
   * inputs: then a worker pool can compute the weight gradients data-parallel.
   */
  readonly poolLoss?: 'standard';
  /**
   * Set by `createObjective` when every part of the objective can run on a shard of the
   * batch (everything but adversarial weight perturbation, whose weight offset is computed
   * from the whole batch): a pool then runs `prepare` and the loss data-parallel.
   */
  readonly spec?: ObjectiveSpec;
  /** Runs right after each optimizer update (adversarial weight perturbation removes its offset here). */
  afterUpdate?(model: tf.LayersModel, batch: ObjectiveBatch): void;
}

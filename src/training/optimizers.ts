/** Optimiser construction and the one place that changes a TF.js optimiser's rate. */
import * as tf from '@tensorflow/tfjs';
import { UsageError, listChoices } from '../core/errors.js';

export const OPTIMIZERS = ['adam', 'sgd'] as const;
export type OptimizerId = (typeof OPTIMIZERS)[number];

/**
 * @throws UsageError `E_UNKNOWN_OPTIMIZER` listing the valid ids.
 */
export function createOptimizer(id: string, learningRate: number, momentum = 0.9): tf.Optimizer {
  switch (id) {
    case 'adam':
      return tf.train.adam(learningRate);
    case 'sgd':
      return momentum > 0 ? tf.train.momentum(learningRate, momentum) : tf.train.sgd(learningRate);
    default:
      throw new UsageError('E_UNKNOWN_OPTIMIZER', `Unknown optimizer '${id}'; use ${listChoices(OPTIMIZERS)}.`, {
        details: { value: id, valid: OPTIMIZERS },
      });
  }
}

/**
 * TF.js optimisers read `learningRate` on every update but only SGD exposes a setter, so
 * schedules write the field directly; this is the single place that relies on it.
 */
export function setLearningRate(optimizer: tf.Optimizer, rate: number): void {
  (optimizer as unknown as { learningRate: number }).learningRate = rate;
}

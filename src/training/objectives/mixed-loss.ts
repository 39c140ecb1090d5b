/**
 * The outer loss of the objectives that train on one perturbed copy of the batch:
 * (1 − r) · CE(clean) + r · CE(perturbed), with r = 1 skipping the clean pass.
 */
import * as tf from '@tensorflow/tfjs';
import { meanCrossEntropy, trainingLogits } from './losses.js';
import type { ObjectiveBatch } from './types.js';

/** The mixed cross-entropy over the weights; runs inside the gradient tape. */
export function mixedLoss(model: tf.LayersModel, batch: ObjectiveBatch, perturbed: tf.Tensor, mixRatio: number): tf.Scalar {
  return tf.tidy(() => {
    const adversarial = meanCrossEntropy(trainingLogits(model, perturbed), batch.y);
    if (mixRatio === 1) return adversarial;
    const clean = meanCrossEntropy(trainingLogits(model, batch.x), batch.y);
    return tf.add(tf.mul(1 - mixRatio, clean), tf.mul(mixRatio, adversarial)) as tf.Scalar;
  });
}

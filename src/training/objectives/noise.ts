/**
 * Gaussian noise augmentation: train on x + N(0, σ²). The training half of randomized
 * smoothing — "Certified Adversarial Robustness via Randomized Smoothing", Cohen, Rosenfeld,
 * Kolter, ICML 2019, https://arxiv.org/abs/1902.02918 — whose certificate holds for a base
 * classifier that is accurate under this noise.
 *
 * Not clipped by default: the smoothing certificate is for unclipped Gaussian noise. Give
 * `bounds` to clip the noisy inputs (plain augmentation). Defaults: σ = 0.25.
 */
import * as tf from '@tensorflow/tfjs';
import { meanCrossEntropy, trainingLogits } from './losses.js';
import { noiseOptions, parseObjectiveOptions, type NoiseOptions } from './schemas.js';
import type { Objective } from './types.js';

export type { NoiseOptions };

/**
 * Gaussian noise augmentation as a trainer objective.
 *
 * @throws UsageError `E_OBJECTIVE_OPTION` for σ < 0 or bounds that are not finite with min < max.
 * @example
 * await trainModel({ model, train, objective: noise({ sigma: 0.5 }), ... });
 */
export function noise(options: NoiseOptions = {}): Objective {
  const o = parseObjectiveOptions('noise', noiseOptions, options);
  const sigma = o.sigma ?? 0.25;
  const { bounds } = o;
  return {
    id: 'noise',
    poolLoss: 'standard',
    config: bounds ? { sigma, bounds: { min: bounds.min, max: bounds.max } } : { sigma },
    prepare: async (_model, batch) =>
      tf.tidy(() => {
        const noisy = sigma === 0 ? tf.clone(batch.x) : tf.add(batch.x, tf.randomNormal(batch.x.shape, 0, sigma, 'float32', batch.seed));
        return bounds ? tf.clipByValue(noisy, bounds.min, bounds.max) : noisy;
      }),
    loss: (model, batch, prepared) => tf.tidy(() => meanCrossEntropy(trainingLogits(model, prepared), batch.y)),
  };
}

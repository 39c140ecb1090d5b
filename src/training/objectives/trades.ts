/**
 * TRADES — "Theoretically Principled Trade-off between Robustness and Accuracy", Zhang, Yu,
 * Jiao, Xing, El Ghaoui, Jordan, ICML 2019, https://arxiv.org/abs/1901.08573
 *
 * Loss CE(f(x), y) + β * KL(p(x) ‖ p(x')), with x' the point of the threat ball that
 * maximises the KL term (the boundary error) for the current model in inference mode. As in
 * the reference implementation the search starts at x + 0.001 * N(0, 1) (the KL gradient
 * is exactly zero at x itself) and the KL in the loss is averaged over the batch, with
 * gradients through both p(x) and p(x'). Norm: L∞ or L2, from the threat model.
 * Defaults: β = 6, 10 steps of 2.5 * epsilon / steps.
 */
import * as tf from '@tensorflow/tfjs';
import { exposed } from './pgd-at.js';
import { perturb } from '../../attacks/image/ascent.js';
import { getNorm, type Norm } from '../../threats/norms.js';
import { threatModel } from '../../threats/threat-model.js';
import { inferenceLogits, klPerExample, meanCrossEntropy, trainingLogits } from './losses.js';
import { parseObjectiveOptions, tradesOptions, type TradesOptions } from './schemas.js';
import type { Objective } from './types.js';

export type { TradesOptions };

/** Standard deviation of the reference implementation's starting noise. */
const START_NOISE = 0.001;

/** The norm's hooks with the random start replaced by TRADES' small Gaussian (still projected and clipped). */
function gaussianStart(norm: Norm): Norm {
  return { ...norm, randomStart: (shape, _epsilon, seed) => tf.randomNormal([...shape], 0, START_NOISE, 'float32', seed) };
}

/**
 * TRADES as a trainer objective.
 *
 * @throws UsageError `E_OBJECTIVE_OPTION` for a missing or invalid threat, β < 0, steps < 1 or stepSize <= 0.
 * @example
 * await trainModel({ model, train, objective: trades({ threat: { norm: 'linf', epsilon: 0.3 }, beta: 6 }), ... });
 */
export function trades(options: TradesOptions): Objective {
  const o = parseObjectiveOptions('trades', tradesOptions, options);
  const threat = threatModel(o.threat);
  const beta = o.beta ?? 6;
  const steps = o.steps ?? 10;
  const stepSize = o.stepSize ?? (2.5 * threat.epsilon) / steps;
  const norm = gaussianStart(getNorm(threat.norm));
  return {
    id: 'trades',
    config: { threat, beta, steps, stepSize },
    prepare: async (model, batch) =>
      tf.tidy(() => {
        // With β = 0 the KL term has no weight, so no search is run at all.
        if (beta === 0) return tf.clone(batch.x);
        const inner = exposed({ threat, steps, stepSize }, batch);
        const logits = inferenceLogits(model);
        const cleanLogP = tf.logSoftmax(logits(batch.x)) as tf.Tensor2D;
        return perturb(batch.x, {
          objective: (z) => klPerExample(cleanLogP, z),
          logits,
          norm,
          threat: inner.threat,
          steps: inner.steps,
          stepSize: inner.stepSize,
          randomStart: true,
          seed: batch.seed,
        });
      }),
    loss: (model, batch, prepared) =>
      tf.tidy(() => {
        const clean = trainingLogits(model, batch.x);
        const natural = meanCrossEntropy(clean, batch.y);
        if (beta === 0) return natural;
        const robust = tf.mean(klPerExample(tf.logSoftmax(clean) as tf.Tensor2D, trainingLogits(model, prepared)));
        return tf.add(natural, tf.mul(beta, robust)) as tf.Scalar;
      }),
  };
}

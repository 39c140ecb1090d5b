/**
 * Fast adversarial training (FGSM with random start) — "Fast is better than free:
 * Revisiting adversarial training", Wong, Rice, Kolter, ICLR 2020,
 * https://arxiv.org/abs/2001.03994
 *
 * One FGSM step of size α from a uniformly random point of the ball, projected back to the
 * ball and the bounds; the weights are trained on CE at that point. Norm: L∞ in the paper;
 * under an L2 threat the same hooks give the one-step FGM analogue. Defaults: α = 1.25 * ε.
 * Single-step training can overfit catastrophically (PGD accuracy collapses within an
 * epoch); run it with the trainer's `overfitGuard`.
 */
import * as tf from '@tensorflow/tfjs';
import { threatModel } from '../../threats/threat-model.js';
import { meanCrossEntropy, trainingLogits } from './losses.js';
import { fgsmRsOptions, parseObjectiveOptions, type FgsmRsOptions } from './schemas.js';
import { crossEntropyAscent } from './pgd-at.js';
import type { Objective } from './types.js';

export type { FgsmRsOptions };

/**
 * FGSM-RS as a trainer objective.
 *
 * @throws UsageError `E_OBJECTIVE_OPTION` for a missing or invalid threat or stepSize <= 0.
 * @example
 * await trainModel({ model, train, objective: fgsmRs({ threat: { norm: 'linf', epsilon: 0.3 } }), overfitGuard: { ... }, ... });
 */
export function fgsmRs(options: FgsmRsOptions): Objective {
  const o = parseObjectiveOptions('fgsm-rs', fgsmRsOptions, options);
  const threat = threatModel(o.threat);
  const stepSize = o.stepSize ?? 1.25 * threat.epsilon;
  return {
    id: 'fgsm-rs',
    poolLoss: 'standard',
    config: { threat, stepSize },
    prepare: async (model, batch) => crossEntropyAscent(model, batch, { threat, steps: 1, stepSize, randomStart: true }),
    loss: (model, batch, prepared) => tf.tidy(() => meanCrossEntropy(trainingLogits(model, prepared), batch.y)),
  };
}

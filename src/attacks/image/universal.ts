/**
 * Universal adversarial perturbation, SGD variant — "Universal adversarial perturbations",
 * Moosavi-Dezfooli, Fawzi, Fawzi, Frossard, CVPR 2017, https://arxiv.org/abs/1610.08401,
 * optimised by projected (sign or normalised) gradient ascent on the batch loss as in
 * "Universal Adversarial Training", Shafahi et al., AAAI 2020, https://arxiv.org/abs/1812.03705
 *
 * Norm: L∞ or L2, from the threat model. One perturbation δ serves every input of the
 * batch: each step ascends the summed loss of `clip(x + δ)` over the batch and projects δ
 * onto the epsilon-ball. The δ kept is the one that met the goal on the most inputs (ties
 * to the later, higher-loss one); each example's adversarial point is `clip(x + δ)`, so
 * some examples may stay unbroken — universality is the point, not per-example strength.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { positiveNumber, wholeNumber } from '../../core/option-schema.js';
import { attackLoss } from '../losses.js';
import { lossOption, parseAttackOptions } from '../option-schema.js';
import type { Attack } from '../types.js';
import { attackOf, wrapAttack, type AttackContext, type AttackOutcome } from '../wrapper.js';
import { observe } from './loss-gradient.js';

export const universalOptions = z.strictObject({
  /** Ascent steps on δ (default 40). */
  steps: wholeNumber(1).default(40),
  /** Step size as a multiple of epsilon (default 2.5 / steps, as PGD). */
  relativeStepSize: positiveNumber().optional(),
  loss: lossOption.default('ce'),
});
export type UniversalOptions = z.input<typeof universalOptions>;
type UniversalConfig = z.infer<typeof universalOptions>;

async function universalSearch(context: AttackContext, config: UniversalConfig): Promise<AttackOutcome> {
  const { model, x, n, norm, threat, targeted, goalClasses } = context;
  const { min, max } = threat.bounds;
  const alpha = (config.relativeStepSize ?? 2.5 / config.steps) * threat.epsilon;
  const targets = tf.tensor1d(goalClasses, 'int32');
  const objective = (logits: tf.Tensor2D): tf.Tensor1D => attackLoss(config.loss, logits, targets, targeted);
  let delta: tf.Tensor = tf.zeros([1, ...x.shape.slice(1)]);
  let bestCount = -1;
  let best: { adversarial: tf.Tensor; success: Uint8Array } | undefined;
  let evaluations = 0;
  try {
    for (let step = 0; step <= config.steps; step++) {
      const point = tf.tidy(() => tf.clipByValue(tf.add(x, delta), min, max));
      const last = step === config.steps;
      const seen = await observe(model, point, objective, { gradient: !last, samples: 1, where: `step ${step}` });
      evaluations++;
      const success = Uint8Array.from(seen.predicted, (p, i) => Number(targeted ? p === goalClasses[i] : p !== goalClasses[i]));
      const count = success.reduce((a, b) => a + b, 0);
      if (count >= bestCount) {
        best?.adversarial.dispose();
        best = { adversarial: point, success };
        bestCount = count;
      } else point.dispose();
      if (last || count === n) {
        seen.gradient?.dispose();
        break;
      }
      const gradient = seen.gradient as tf.Tensor;
      // The gradient of the batch loss in δ is the sum of the per-input gradients (clipping aside).
      const next = tf.tidy(() => norm.project(tf.add(delta, tf.mul(alpha, norm.normalizeStep(tf.sum(gradient, 0, true)))), threat.epsilon));
      gradient.dispose();
      delta.dispose();
      delta = next;
      context.onProgress({ done: step + 1, total: config.steps });
    }
  } finally {
    delta.dispose();
    targets.dispose();
  }
  const chosen = best as { adversarial: tf.Tensor; success: Uint8Array };
  return { adversarial: chosen.adversarial, success: chosen.success, queries: new Int32Array(n).fill(evaluations) };
}

/**
 * Learns one perturbation for the whole batch.
 *
 * @throws UsageError `E_THREAT_NORM` for a threat that is not L∞ or L2.
 * @throws GradientError `E_NOT_DIFFERENTIABLE` for a model without gradients.
 */
export const universalAttack = wrapAttack('universal', 'gradients', universalSearch);

/**
 * @throws UsageError `E_ATTACK_OPTION` for an unknown option or a value out of range.
 * @example const r = await universal({ steps: 40 }).run(model, x, labels, threatModel({ norm: 'linf', epsilon: 0.1 }));
 */
export function universal(options: UniversalOptions = {}): Attack {
  return attackOf('universal', parseAttackOptions('universal', universalOptions, options), universalAttack);
}

/**
 * FGSM — "Explaining and Harnessing Adversarial Examples", Goodfellow, Shlens, Szegedy,
 * ICLR 2015, https://arxiv.org/abs/1412.6572
 *
 * Norm: L∞ (the sign step); under an L2 threat the same single step is the fast gradient
 * method (FGM) with a normalised gradient. Defaults: one step of size epsilon from the
 * clean input, cross-entropy loss; `eot: N` averages the gradient over N forward passes.
 */
import { z } from 'zod';
import { eotOption, lossOption, parseAttackOptions } from '../option-schema.js';
import type { Attack } from '../types.js';
import { attackOf } from '../wrapper.js';
import { gradientDescentAttack, type GradientDescentConfig } from './gradient-descent.js';

export const fgsmOptions = z.strictObject({
  /** `ce` (default) or `margin`. */
  loss: lossOption.optional(),
  /** Forward passes averaged for the gradient (EOT); default 1. */
  eot: eotOption.optional(),
});
export type FgsmOptions = z.infer<typeof fgsmOptions>;

/**
 * @throws UsageError `E_ATTACK_OPTION` for an unknown option or loss.
 * @example const result = await fgsm().run(model, x, labels, threatModel({ norm: 'linf', epsilon: 0.1 }));
 */
export function fgsm(options: FgsmOptions = {}): Attack {
  const o = parseAttackOptions('fgsm', fgsmOptions, options);
  const config: GradientDescentConfig = {
    steps: 1,
    relativeStepSize: 1,
    randomStart: false,
    restarts: 1,
    loss: o.loss ?? 'ce',
    ...(o.eot === undefined ? {} : { eotSamples: o.eot }),
  };
  return attackOf('fgsm', config, gradientDescentAttack);
}

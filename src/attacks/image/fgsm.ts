/**
 * FGSM — "Explaining and Harnessing Adversarial Examples", Goodfellow, Shlens, Szegedy,
 * ICLR 2015, https://arxiv.org/abs/1412.6572
 *
 * Norm: L∞ (the sign step); under an L2 threat the same single step is the fast gradient
 * method (FGM) with a normalised gradient. Defaults: one step of size epsilon from the
 * clean input, cross-entropy loss.
 */
import type { Attack } from '../types.js';
import { parseAttackLoss, rejectUnknownOptions } from '../options.js';
import { gradientDescentAttack, type GradientDescentConfig } from './gradient-descent.js';

export interface FgsmOptions {
  /** `ce` (default) or `margin`. */
  loss?: string;
}

/**
 * @throws UsageError `E_ATTACK_OPTION` for an unknown option or loss.
 * @example const result = await fgsm().run(model, x, labels, threatModel({ norm: 'linf', epsilon: 0.1 }));
 */
export function fgsm(options: FgsmOptions = {}): Attack {
  rejectUnknownOptions('fgsm', options as Record<string, unknown>, ['loss']);
  const config: GradientDescentConfig = { steps: 1, relativeStepSize: 1, randomStart: false, restarts: 1, loss: parseAttackLoss('fgsm', options.loss) };
  return {
    id: 'fgsm',
    config,
    run: (model, x, labels, threat, runOptions) => gradientDescentAttack(model, x, labels, threat, config, runOptions),
  };
}

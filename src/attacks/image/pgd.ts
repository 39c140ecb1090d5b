/**
 * PGD — "Towards Deep Learning Models Resistant to Adversarial Attacks", Madry, Makelov,
 * Schmidt, Tsipras, Vladu, ICLR 2018, https://arxiv.org/abs/1706.06083
 *
 * Norm: L∞ or L2, from the threat model (projected steepest ascent with the norm's hooks).
 * Defaults: 40 steps of 2.5 * epsilon / steps (so the walk can cross the ball and back),
 * random start, one restart, cross-entropy loss.
 */
import type { Attack } from '../types.js';
import { parseAttackLoss, parseBoolean, parsePositiveNumber, parseWholeNumber, rejectUnknownOptions } from '../options.js';
import { gradientDescentAttack, type GradientDescentConfig } from './gradient-descent.js';

export interface PgdOptions {
  steps?: number;
  /** Absolute step size; default 2.5 * epsilon / steps. */
  stepSize?: number;
  randomStart?: boolean;
  restarts?: number;
  /** `ce` (default) or `margin`. */
  loss?: string;
}

const KNOWN = ['steps', 'stepSize', 'randomStart', 'restarts', 'loss'] as const;

/**
 * @throws UsageError `E_ATTACK_OPTION` for an unknown option or a value out of range.
 * @example const result = await pgd({ steps: 40, restarts: 2 }).run(model, x, labels, threat);
 */
export function pgd(options: PgdOptions = {}): Attack {
  rejectUnknownOptions('pgd', options as Record<string, unknown>, KNOWN);
  const steps = parseWholeNumber('pgd', 'steps', options.steps, 40);
  const stepSize = parsePositiveNumber('pgd', 'stepSize', options.stepSize);
  const config: GradientDescentConfig = {
    steps,
    relativeStepSize: 2.5 / steps,
    randomStart: parseBoolean('pgd', 'randomStart', options.randomStart, true),
    restarts: parseWholeNumber('pgd', 'restarts', options.restarts, 1),
    loss: parseAttackLoss('pgd', options.loss),
    ...(stepSize === undefined ? {} : { stepSize }),
  };
  return {
    id: 'pgd',
    config,
    run: (model, x, labels, threat, runOptions) => gradientDescentAttack(model, x, labels, threat, config, runOptions),
  };
}

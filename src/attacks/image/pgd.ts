/**
 * PGD — "Towards Deep Learning Models Resistant to Adversarial Attacks", Madry, Makelov,
 * Schmidt, Tsipras, Vladu, ICLR 2018, https://arxiv.org/abs/1706.06083
 *
 * Norm: L∞ or L2, from the threat model (projected steepest ascent with the norm's hooks).
 * Defaults: 40 steps of 2.5 * epsilon / steps (so the walk can cross the ball and back),
 * random start, one restart, cross-entropy loss. `eot: N` averages each gradient over N
 * forward passes (expectation over transformation) to attack a randomised model.
 */
import { z } from 'zod';
import { flag, positiveNumber, wholeNumber } from '../../core/option-schema.js';
import { eotOption, lossOption, parseAttackOptions } from '../option-schema.js';
import type { Attack } from '../types.js';
import { attackOf } from '../wrapper.js';
import { gradientDescentAttack, type GradientDescentConfig } from './gradient-descent.js';

export const pgdOptions = z.strictObject({
  steps: wholeNumber(1).optional(),
  /** Absolute step size; default 2.5 * epsilon / steps. */
  stepSize: positiveNumber().optional(),
  randomStart: flag().optional(),
  restarts: wholeNumber(1).optional(),
  /** `ce` (default) or `margin`. */
  loss: lossOption.optional(),
  /** Forward passes averaged per gradient (EOT); default 1. */
  eot: eotOption.optional(),
});
export type PgdOptions = z.infer<typeof pgdOptions>;

/**
 * @throws UsageError `E_ATTACK_OPTION` for an unknown option or a value out of range.
 * @example const result = await pgd({ steps: 40, restarts: 2 }).run(model, x, labels, threat);
 */
export function pgd(options: PgdOptions = {}): Attack {
  return attackOf('pgd', pgdConfig(parseAttackOptions('pgd', pgdOptions, options), 40), gradientDescentAttack);
}

/** PGD's defaults over parsed options: `defaultSteps` steps of 2.5 * epsilon / steps, random start, one restart, CE. */
export function pgdConfig(o: Partial<PgdOptions>, defaultSteps: number): GradientDescentConfig {
  const steps = o.steps ?? defaultSteps;
  return {
    steps,
    relativeStepSize: 2.5 / steps,
    randomStart: o.randomStart ?? true,
    restarts: o.restarts ?? 1,
    loss: o.loss ?? 'ce',
    ...(o.stepSize === undefined ? {} : { stepSize: o.stepSize }),
    ...(o.eot === undefined ? {} : { eotSamples: o.eot }),
  };
}

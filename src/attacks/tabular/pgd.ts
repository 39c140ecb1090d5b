/**
 * Constrained PGD and APGD for tabular rows: the image loops (Madry et al. 2018,
 * https://arxiv.org/abs/1706.06083; Croce & Hein 2020, https://arxiv.org/abs/2003.01690)
 * with two hooks swapped in — steps in the constraints' scaled norm along mutable features
 * only, and the projection onto the constraints (budgets, ranges, monotone directions,
 * immutability, with integer and one-hot repair) instead of "clip to the ball". No loop is
 * copied: both call the shared searches.
 * Defaults: PGD 100 steps of 2.5 * epsilon / steps, random start, 1 restart, CE; APGD 100
 * steps, 1 restart, CE (DLR needs 3 classes or more).
 */
import { z } from 'zod';
import { flag, oneOf, positiveNumber, wholeNumber } from '../../core/option-schema.js';
import { apgdSearch, type ApgdConfig } from '../image/apgd.js';
import { pgdConfig } from '../image/pgd.js';
import { gradientDescentSearch, type GradientDescentConfig } from '../image/gradient-descent.js';
import { lossOption, parseAttackOptions } from '../option-schema.js';
import type { Attack } from '../types.js';
import { attackOf } from '../wrapper.js';
import { wrapTabularAttack } from './wrapper.js';

export const tabularPgdOptions = z.strictObject({
  steps: wholeNumber(1).optional(),
  /** Absolute step size in the scaled norm; default 2.5 * epsilon / steps. */
  stepSize: positiveNumber().optional(),
  randomStart: flag().optional(),
  restarts: wholeNumber(1).optional(),
  /** `ce` (default) or `margin`. */
  loss: lossOption.optional(),
});
export type TabularPgdOptions = z.infer<typeof tabularPgdOptions>;

export const tabularApgdOptions = z.strictObject({
  steps: wholeNumber(1).optional(),
  restarts: wholeNumber(1).optional(),
  /** `ce` (default) or `dlr` (3 classes or more). */
  loss: oneOf(['ce', 'dlr']).optional(),
});
export type TabularApgdOptions = z.infer<typeof tabularApgdOptions>;

/**
 * Runs constrained PGD on a batch of rows.
 *
 * @throws as {@link wrapTabularAttack}, and GradientError for a model without gradients.
 */
export const tabularPgdAttack = wrapTabularAttack<GradientDescentConfig>('tabular-pgd', 'gradients', (context, config) =>
  gradientDescentSearch(context, { ...config, project: context.project }),
);

/**
 * Runs constrained APGD on a batch of rows.
 *
 * @throws as {@link wrapTabularAttack}, and GradientError for a model without gradients.
 */
export const tabularApgdAttack = wrapTabularAttack<ApgdConfig>('tabular-apgd', 'gradients', (context, config) =>
  apgdSearch(context, { ...config, project: context.project }),
);

/**
 * @throws UsageError `E_ATTACK_OPTION` for an unknown option or a value out of range.
 * @example const result = await tabularPgd({ steps: 50 }).run(model, x, labels, threat);
 */
export function tabularPgd(options: TabularPgdOptions = {}): Attack {
  const config = pgdConfig(parseAttackOptions('tabular-pgd', tabularPgdOptions, options), 100);
  return attackOf('tabular-pgd', config, tabularPgdAttack);
}

/**
 * @throws UsageError `E_ATTACK_OPTION` for an unknown option or a value out of range.
 * @example const result = await tabularApgd({ steps: 100 }).run(model, x, labels, threat);
 */
export function tabularApgd(options: TabularApgdOptions = {}): Attack {
  const o = parseAttackOptions('tabular-apgd', tabularApgdOptions, options);
  const config: ApgdConfig = { steps: o.steps ?? 100, restarts: o.restarts ?? 1, loss: o.loss ?? 'ce', targetClasses: 0 };
  return attackOf('tabular-apgd', config, tabularApgdAttack);
}

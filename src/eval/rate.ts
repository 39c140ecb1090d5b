/**
 * A measured rate with its sample size and a 95% Clopper-Pearson interval. Every rate a
 * report or the gate shows (clean, robust, certified accuracy, attack success) is one of
 * these, so a number is never read without the n it rests on and the range it allows.
 */
import { z } from 'zod';
import { clopperPearsonInterval } from './binomial.js';

export const rateSchema = z.object({
  /** Successes: e.g. examples still correct under attack. */
  count: z.number().int().min(0),
  /** Examples the rate is over. */
  n: z.number().int().min(0),
  value: z.number().min(0).max(1),
  /** Two-sided 95% Clopper-Pearson interval. */
  lower: z.number().min(0).max(1),
  upper: z.number().min(0).max(1),
});

export type Rate = z.infer<typeof rateSchema>;

/** The interval's confidence level. */
export const RATE_CONFIDENCE = 0.95;

/**
 * `count` of `n` with its 95% interval; n = 0 gives the empty-evidence interval [0, 1].
 *
 * @throws UsageError `E_STAT_ARGUMENT` for counts that are not whole or count > n.
 * @example rateOf(373, 500) // { count: 373, n: 500, value: 0.746, lower: 0.705..., upper: 0.784... }
 */
export function rateOf(count: number, n: number): Rate {
  if (n === 0) return { count: 0, n: 0, value: 0, lower: 0, upper: 1 };
  const { lower, upper } = clopperPearsonInterval(count, n, 1 - RATE_CONFIDENCE);
  return { count, n, value: count / n, lower, upper };
}

/**
 * The attack success rate behind a robust accuracy: of the `clean` examples the model gets
 * right, the share an attack broke (both rates over the same examples), with its interval.
 *
 * @example attackSuccessOf(rateOf(482, 500), rateOf(353, 500)) // 129 of 482
 */
export function attackSuccessOf(clean: Rate, robust: Rate): Rate {
  return rateOf(Math.max(0, clean.count - robust.count), clean.count);
}

/** A rate given as a fraction of `n` (rounded to the nearest whole count). */
export function rateFromFraction(value: number, n: number): Rate {
  return rateOf(Math.round(value * n), n);
}

const pct = (v: number): string => `${(100 * v).toFixed(1)}%`;

/** `74.6% (95% CI 70.5–78.4%, n=500)`. */
export function formatRate(rate: Rate): string {
  return `${pct(rate.value)} (95% CI ${pct(rate.lower)}–${pct(rate.upper)}, n=${rate.n})`;
}

/** `95% CI 70.5–78.4%, n=500`: the interval part alone, for text beside a number. */
export function formatInterval(rate: Rate): string {
  return `95% CI ${pct(rate.lower)}–${pct(rate.upper)}, n=${rate.n}`;
}

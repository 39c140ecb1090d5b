/**
 * The plan-shaped declaration of what an attacker may change in a tabular row: immutable
 * features, physical ranges, integer features, one-hot groups, monotone-only changes,
 * per-feature budgets and one overall norm budget. Features are named as the data set
 * names them (CSV headers); `compileConstraints` turns names into indices.
 */
import { z } from 'zod';
import { NORM_IDS } from '../norms.js';

const featureName = z.string().min(1, { error: 'feature names must be non-empty strings' }).max(200);
const featureList = z.array(featureName).max(10_000).readonly();
const finite = z.number().refine(Number.isFinite, { error: 'must be a finite number' });

const rangeSchema = z
  .strictObject({ min: finite, max: finite })
  .refine((r) => r.min <= r.max, { error: 'a range needs min <= max' })
  .readonly();

export const tabularNormSchema = z.strictObject({
  /** `linf` or `l2` over all features. */
  kind: z.enum(NORM_IDS, { error: `norm kind must be ${NORM_IDS.join(' or ')}` }),
  /** The budget in that norm, after scaling. */
  epsilon: finite.refine((v) => v >= 0, { error: 'epsilon must be >= 0' }),
  /**
   * How each feature's change is measured: `none` (raw units), `range` (divided by the
   * feature's range width, so features in different units compare), or per-feature divisors.
   */
  scale: z
    .union([
      z.enum(['none', 'range']),
      z.record(
        featureName,
        finite.refine((v) => v > 0, { error: 'scales must be > 0' }),
      ),
    ])
    .default('range'),
});

export const tabularConstraintsSchema = z.strictObject({
  /** Features the attacker cannot touch (e.g. a sensor's id). */
  immutable: featureList.default([]),
  /** Physical range per feature; features not listed keep the data's declared bounds. */
  ranges: z.record(featureName, rangeSchema).default({}),
  /** Features that only take whole values. */
  integer: featureList.default([]),
  /** Groups of 0/1 features of which exactly one is 1 (a categorical feature, one-hot encoded). */
  oneHot: z
    .array(z.array(featureName).min(2, { error: 'a one-hot group needs at least 2 features' }).max(10_000).readonly())
    .max(1000)
    .default([]),
  /** Features that may only rise (`increase`) or only fall (`decrease`). */
  monotone: z.record(featureName, z.enum(['increase', 'decrease'])).default({}),
  /** Largest absolute change per feature, in the feature's units. */
  budgets: z
    .record(
      featureName,
      finite.refine((v) => v >= 0, { error: 'budgets must be >= 0' }),
    )
    .default({}),
  /** The overall budget over all features. */
  norm: tabularNormSchema,
});

/** Constraints as written in a plan (defaults not yet filled in). */
export type TabularConstraintsSpec = z.input<typeof tabularConstraintsSchema>;
/** Constraints parsed, defaults filled in. */
export type TabularConstraintsConfig = z.output<typeof tabularConstraintsSchema>;

/**
 * The option schemas of the training objectives, one per objective, and the option types
 * inferred from them. Kept apart from the objectives and the registry so that the shared
 * types (`types.ts`) import no objective: the registry imports the objectives, never the
 * other way round. Every failure is a UsageError `E_OBJECTIVE_OPTION` naming the
 * objective, the option and the valid ones.
 */
import { z } from 'zod';
import { RampartError } from '../../core/errors.js';
import {
  flag,
  isPlainObject,
  nonNegativeNumber,
  numberIn,
  oneOf,
  parseOptions,
  positiveNumber,
  wholeNumber,
} from '../../core/option-schema.js';
import type { Bounds } from '../../core/types.js';
import { threatModel, type ThreatModelSpec } from '../../threats/threat-model.js';
import { isTabularThreat, type TabularThreat } from '../../threats/tabular/threat.js';

/**
 * The threat an adversarial objective trains against, checked by `threatModel` (so the
 * same epsilon and bounds rules hold as for attacks); its error is the `cause`.
 */
const threatField = z
  .custom<ThreatModelSpec>(isPlainObject, { error: "must be a threat such as { norm: 'linf', epsilon: 0.3 }" })
  .superRefine((spec, ctx) => {
    try {
      threatModel(spec);
    } catch (error) {
      if (!(error instanceof RampartError)) throw error;
      ctx.addIssue({ code: 'custom', message: `is invalid: ${error.message}`, params: { cause: error, reason: error.code } });
    }
  });

const validBounds = (v: unknown): boolean =>
  isPlainObject(v) && Number.isFinite(v.min) && Number.isFinite(v.max) && (v.min as number) < (v.max as number);
const boundsField = z.custom<Bounds>(validBounds, { error: 'must be { min, max } with finite min < max' });

export const pgdAtOptions = z.strictObject({
  /** The threat to train against, e.g. `{ norm: 'linf', epsilon: 0.3 }` (bounds default to [0, 1]). */
  threat: threatField,
  /** Ascent steps; default 10. */
  steps: wholeNumber(1).optional(),
  /** Absolute step size in the threat's norm; default 2.5 * epsilon / steps. */
  stepSize: positiveNumber().optional(),
  /** Start from a uniformly random point of the ball; default true. */
  randomStart: flag().optional(),
  /** Weight r of the adversarial term in (1 − r) * CE(clean) + r * CE(adversarial); default 1. */
  mixRatio: numberIn(0, 1).optional(),
});
export type PgdAtOptions = z.infer<typeof pgdAtOptions>;

export const patchAtOptions = z.strictObject({
  /** Side of the square patch in pixels (the `patch` threat's budget). */
  size: wholeNumber(1),
  /** Signed ascent steps on each patch's content; default 5. */
  steps: wholeNumber(1).optional(),
  /** Step as a fraction of the bounds' range; default 0.25. */
  stepSize: numberIn(0, 1, true).optional(),
  /** Weight r of the patched term in (1 − r) * CE(clean) + r * CE(patched); default 0.5. */
  mixRatio: numberIn(0, 1).optional(),
  /** Input bounds; default [0, 1]. */
  bounds: boundsField.optional(),
});
export type PatchAtOptions = z.infer<typeof patchAtOptions>;

export const sparseAtOptions = z.strictObject({
  /** Pixels the adversary may change (the `l0` threat's budget k). */
  pixels: wholeNumber(1),
  /** Saliency rounds that share the k pixels; default min(k, 4). */
  steps: wholeNumber(1).optional(),
  /** Weight r of the sparse term in (1 − r) * CE(clean) + r * CE(sparse); default 0.5. */
  mixRatio: numberIn(0, 1).optional(),
  /** Input bounds (the values a saturated pixel takes); default [0, 1]. */
  bounds: boundsField.optional(),
});
export type SparseAtOptions = z.infer<typeof sparseAtOptions>;

export const occlusionAtOptions = z.strictObject({
  /** Side of the square occluder in pixels (the `occlusion` threat's budget). */
  size: wholeNumber(1),
  /** Random box positions tried per example, the worst one trained on; default 8 (at most 64). */
  samples: wholeNumber(1)
    .refine((v) => v <= 64, { error: 'must be at most 64' })
    .optional(),
  /** The occluder's colour: the bounds' middle, minimum or maximum; default `grey`. */
  fill: oneOf(['grey', 'black', 'white']).optional(),
  /** Weight r of the occluded term in (1 − r) * CE(clean) + r * CE(occluded); default 0.5. */
  mixRatio: numberIn(0, 1).optional(),
  /** Input bounds; default [0, 1]. */
  bounds: boundsField.optional(),
});
export type OcclusionAtOptions = z.infer<typeof occlusionAtOptions>;

export const tabularPgdAtOptions = z.strictObject({
  /** A compiled tabular threat (`tabularThreat(spec, space)`): its constraints project every ascent step. */
  threat: z.custom<TabularThreat>((v) => isPlainObject(v) && isTabularThreat(v as never), {
    error: 'must be a tabular threat built by tabularThreat(spec, featureSpace)',
  }),
  /** Ascent steps; default 10. */
  steps: wholeNumber(1).optional(),
  /** Step size in the constraints' scaled norm; default 2.5 * epsilon / steps. */
  stepSize: positiveNumber().optional(),
  /** Labels whose rows the adversary perturbs; default every label. */
  attackClasses: z.array(z.number().int().min(0)).min(1).optional(),
  /** Weight r of the adversarial term in (1 − r) * CE(clean) + r * CE(adversarial); default 1. */
  mixRatio: numberIn(0, 1).optional(),
});
export type TabularPgdAtSchemaOptions = z.infer<typeof tabularPgdAtOptions>;

export const tradesOptions = z.strictObject({
  /** The threat to train against, e.g. `{ norm: 'linf', epsilon: 0.3 }` (bounds default to [0, 1]). */
  threat: threatField,
  /** Ascent steps on the KL term; default 10. */
  steps: wholeNumber(1).optional(),
  /** Absolute step size in the threat's norm; default 2.5 * epsilon / steps. */
  stepSize: positiveNumber().optional(),
  /** Weight of the robustness (KL) term; default 6. β = 0 is standard training. */
  beta: nonNegativeNumber().optional(),
});
export type TradesOptions = z.infer<typeof tradesOptions>;

export const fgsmRsOptions = z.strictObject({
  /** The threat to train against, e.g. `{ norm: 'linf', epsilon: 0.3 }` (bounds default to [0, 1]). */
  threat: threatField,
  /** Step size α in the threat's norm; default 1.25 * epsilon. */
  stepSize: positiveNumber().optional(),
});
export type FgsmRsOptions = z.infer<typeof fgsmRsOptions>;

export const noiseOptions = z.strictObject({
  /** Standard deviation of the noise, in input units; default 0.25. */
  sigma: nonNegativeNumber().optional(),
  /** Clip noisy inputs to these bounds; default: no clipping. */
  bounds: boundsField.optional(),
});
export type NoiseOptions = z.infer<typeof noiseOptions>;

export const standardOptions = z.strictObject({});

export const awpOptions = z.strictObject({
  /** Size of the weight perturbation relative to each weight tensor's norm; default 5e-3. */
  gamma: nonNegativeNumber().optional(),
  /** Epochs trained with the inner objective alone before AWP starts; default 0. */
  warmupEpochs: wholeNumber(0).optional(),
});
export type AwpOptions = z.infer<typeof awpOptions>;

const isAwpSwitch = (v: unknown): boolean => typeof v === 'boolean' || isPlainObject(v);

/** The `awp` switch every objective id takes: `true` for the defaults, or AWP's own options. */
export const awpSwitch = z.strictObject({
  awp: z.custom<boolean | AwpOptions>(isAwpSwitch, { error: 'must be true, false or { gamma, warmupEpochs }' }).optional(),
});

/** One adversary of a `diversified` objective, built by the registry from its id and options. */
export interface ObjectiveMemberSpec {
  id: string;
  /** Relative probability of drawing this member per batch (>= 0). */
  weight: number;
  options?: ObjectiveOptions;
}

const memberField = z.custom<ObjectiveMemberSpec>((v) => isPlainObject(v) && typeof v.id === 'string', {
  error: 'entries must be { id, weight, options }',
});

export const diversifiedOptions = z.strictObject({
  /** The adversaries and their weights (each weight is checked by `diversified`, with the others). */
  members: z
    .array(memberField, {
      error: 'must list at least one { id, weight, options }',
    })
    .min(1, { error: 'must list at least one { id, weight, options }' })
    .readonly(),
});
export type DiversifiedSpecOptions = z.infer<typeof diversifiedOptions>;

/** Options of every objective; each id accepts its own schema's subset, and every id `awp`. */
export type ObjectiveOptions = Partial<
  PgdAtOptions &
    PatchAtOptions &
    SparseAtOptions &
    OcclusionAtOptions &
    TradesOptions &
    FgsmRsOptions &
    NoiseOptions &
    DiversifiedSpecOptions
> &
  Partial<Pick<TabularPgdAtSchemaOptions, 'attackClasses'>> &
  z.infer<typeof awpSwitch>;

/**
 * Parses an objective's options with its schema.
 *
 * @throws UsageError `E_OBJECTIVE_OPTION` for an unknown option or a value out of range.
 * @example const o = parseObjectiveOptions('pgd-at', pgdAtOptions, { threat: { norm: 'linf', epsilon: 0.3 } });
 */
export function parseObjectiveOptions<S extends z.ZodObject>(
  objective: string,
  schema: S,
  options: unknown,
  alsoValid: readonly string[] = [],
): z.output<S> {
  return parseOptions({ owner: objective, code: 'E_OBJECTIVE_OPTION', details: { objective }, alsoValid }, schema, options);
}

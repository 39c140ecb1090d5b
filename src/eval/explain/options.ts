/**
 * The options of every attribution method, parsed once at the edge (CLI flags, HTTP bodies,
 * plans) with their bounds: steps, samples and windows are capped so one explanation has a
 * bounded cost whatever a caller asks for.
 */
import { z } from 'zod';
import { UsageError } from '../../core/errors.js';
import { ATTRIBUTION_METHODS, IG_BASELINES } from './types.js';

/** Caps on one explanation's work. */
export const EXPLAIN_LIMITS = Object.freeze({
  maxSteps: 512,
  maxSamples: 256,
  /** Occluded inputs scored per explanation. */
  maxOcclusions: 4096,
  /** Interpolation points or noisy copies per gradient pass. */
  maxBatch: 64,
});

export const explainOptionsSchema = z
  .object({
    method: z.enum(ATTRIBUTION_METHODS).default('ig'),
    /** Class to explain; the model's prediction when absent. */
    target: z.number().int().min(0).optional(),
    /** Integrated gradients: points on the path from the baseline to the input. */
    steps: z.number().int().min(1).max(EXPLAIN_LIMITS.maxSteps).default(64),
    baseline: z.enum(IG_BASELINES).default('zeros'),
    /** SmoothGrad: noisy copies averaged. */
    samples: z.number().int().min(1).max(EXPLAIN_LIMITS.maxSamples).default(32),
    /** SmoothGrad: noise standard deviation as a fraction of the input range (Smilkov et al. use 0.1–0.2). */
    noise: z.number().min(0).max(1).default(0.15),
    /** Occlusion: square window side (pixels) or run of features, and its stride. */
    window: z.number().int().min(1).max(256).default(4),
    stride: z.number().int().min(1).max(256).default(2),
    /** Occlusion: the value written into the window; the bounds' minimum when absent. */
    fill: z.number().finite().optional(),
    /** Gradient passes batch this many points. */
    batchSize: z.number().int().min(1).max(EXPLAIN_LIMITS.maxBatch).default(32),
    seed: z.number().int().default(1),
  })
  .strict();

export type ExplainOptions = z.input<typeof explainOptionsSchema>;
export type ResolvedExplainOptions = z.output<typeof explainOptionsSchema>;

/**
 * Parses explanation options, filling defaults.
 *
 * @throws UsageError `E_EXPLAIN_OPTION` naming the bad field and its valid range or choices.
 * @example const opts = parseExplainOptions({ method: 'ig', steps: 50 });
 */
export function parseExplainOptions(raw: unknown): ResolvedExplainOptions {
  const parsed = explainOptionsSchema.safeParse(raw ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue?.path.join('.') || (issue && 'keys' in issue ? String((issue as { keys: string[] }).keys[0]) : '');
  throw new UsageError(
    'E_EXPLAIN_OPTION',
    `Explanation option '${field}' is invalid: ${issue?.message ?? 'invalid'}. Methods: ${ATTRIBUTION_METHODS.join(', ')}; baselines: ${IG_BASELINES.join(', ')}; steps ≤ ${EXPLAIN_LIMITS.maxSteps}, samples ≤ ${EXPLAIN_LIMITS.maxSamples}.`,
    { details: { field, issues: parsed.error.issues } },
  );
}

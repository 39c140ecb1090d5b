/**
 * The release gate's criteria as a schema. A plan's `criteria` section is exactly this;
 * it lives with the gate so the gate (and the reports that read it) need nothing above eval.
 */
import { z } from 'zod';

const fraction = z.number().min(0).max(1);

export const CONFIDENCE_MODES = ['point', 'lower-bound'] as const;

export const gateCriteriaSchema = z
  .object({
    /** Minimum clean accuracy on the evaluation set. */
    cleanAccuracy: fraction.optional(),
    /** Minimum robust (worst-case) accuracy per threat id. */
    robustAccuracy: z.record(z.string(), fraction).optional(),
    /** Minimum certified accuracy (randomized smoothing) per L2 threat id. */
    certifiedAccuracy: z.record(z.string(), fraction).optional(),
    /** Maximum expected calibration error. */
    ece: fraction.optional(),
    /** Maximum single-example latency p99, in milliseconds. */
    latencyP99Ms: z.number().positive().optional(),
    /** Maximum absolute drop of any measured accuracy against the production model. */
    maxRegression: fraction.optional(),
    /**
     * `point` (default): a rate clears its minimum when the measured value does.
     * `lower-bound`: only when the 95% interval's lower bound does, so a small evaluation
     * set cannot pass on luck.
     */
    confidence: z.enum(CONFIDENCE_MODES).optional(),
    /** Gradient-masking checks as a criterion (default true when they ran): a `fail` fails the gate. */
    masking: z.boolean().optional(),
    /**
     * Minimum accuracy on the confirmed attacks of the plan's adversarial sets (`data.adversarial`),
     * overall and for every threat they belong to.
     */
    adversarialSet: z.object({ minAccuracy: fraction }).strict().optional(),
  })
  .strict();

export type GateCriteria = z.infer<typeof gateCriteriaSchema>;

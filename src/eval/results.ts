/**
 * A model's evaluation results in the one shape the gate, the report, the registry and
 * `rampart gate --candidate/--baseline` read: clean accuracy, worst-case robust accuracy
 * per threat id, calibration, latency and the accuracy-vs-epsilon curves.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { ConfigError, DataError } from '../core/errors.js';
import { rateSchema } from './rate.js';

const curvePoint = z.object({ epsilon: z.number(), robustAccuracy: z.number() });
const maskingSummary = z.object({
  /** Worst status over the checks that ran. */
  status: z.enum(['pass', 'warn', 'fail']),
  /** Clean-correct examples the checks attacked. */
  examples: z.number().int().min(0),
  checks: z.array(z.object({ id: z.string(), title: z.string(), status: z.enum(['pass', 'warn', 'fail']), explanation: z.string() })),
});

const adversarialSetResult = z.object({
  /** Digests of the sets measured. */
  sets: z.array(z.string()),
  accuracy: z.number().min(0).max(1),
  n: z.number().int().min(0),
  /** Per threat id the confirmed attacks belong to (`unknown` when a capture had none). */
  byThreat: z.record(z.string(), z.object({ accuracy: z.number().min(0).max(1), n: z.number().int().min(0) })),
  /** Per set digest: its channel (which model measured it) and the candidate's accuracy on it. Absent in older results. */
  bySet: z
    .record(
      z.string(),
      z.object({ name: z.string(), channel: z.enum(['image', 'text']), accuracy: z.number().min(0).max(1), n: z.number().int().min(0) }),
    )
    .optional(),
});

const stackConfig = z.object({
  layers: z.array(z.string()),
  attackSuccess: rateSchema,
  misclassified: rateSchema,
  robustAccuracy: rateSchema,
  cleanPass: rateSchema,
});
/** The adaptive defended-stack evaluation (src/eval/adaptive): a DefendedStackReport. */
const defendedStackResult = z.object({
  kind: z.literal('rampart.defended-stack-report'),
  threat: z.string(),
  count: z.number().int().min(0),
  cleanAccuracy: rateSchema,
  configs: z.array(stackConfig),
  added: z.record(z.string(), z.number()),
  robustAccuracy: rateSchema,
});

const reliabilityBin = z.object({ lower: z.number(), upper: z.number(), count: z.number(), confidence: z.number(), accuracy: z.number() });

export const evaluationResultsSchema = z.object({
  kind: z.literal('rampart.evaluation-results'),
  schemaVersion: z.literal(1),
  model: z.object({ name: z.string(), sha256: z.string().optional(), path: z.string().optional() }),
  data: z.object({ name: z.string(), sha256: z.string(), count: z.number() }).optional(),
  cleanAccuracy: z.number().min(0).max(1),
  /** Worst case over every attack run, per threat id. */
  robustAccuracy: z.record(z.string(), z.number().min(0).max(1)),
  ece: z.number().min(0).max(1).optional(),
  /** The temperature the ECE was measured with (1: none). */
  temperature: z.number().positive().optional(),
  latencyP99Ms: z.number().min(0).optional(),
  /** Single-example latency p99 on adversarial inputs, when measured. */
  latencyUnderAttackP99Ms: z.number().min(0).optional(),
  /** The defended stack's robust accuracy under the adaptive stack attack (src/eval/adaptive), when measured. */
  defendedStackRobustAccuracy: z.number().min(0).max(1).optional(),
  /** The defended stack's report: every configuration (bare, each layer, all) under the adaptive attack. */
  defendedStack: defendedStackResult.optional(),
  /** How each threat was evaluated when not by the plan's white-box attacks (technique, surrogate, sparse norm). */
  threatNotes: z.record(z.string(), z.string()).optional(),
  /** Per targeted threat: the share of attacked examples moved to the target class. */
  targetedSuccess: z.record(z.string(), rateSchema.extend({ target: z.number().int().min(0) })).optional(),
  /** Certified accuracy per threat id, when certification ran. */
  certifiedAccuracy: z.record(z.string(), z.number().min(0).max(1)).optional(),
  curves: z.array(z.object({ norm: z.string(), points: z.array(curvePoint) })).default([]),
  reliability: z.array(reliabilityBin).optional(),
  /** Threats in the plan that this evaluation could not measure, with the reason. */
  unmeasured: z.record(z.string(), z.string()).default({}),
  /** Each rate with its count, n and 95% Clopper-Pearson interval (results written before intervals lack it). */
  rates: z
    .object({
      clean: rateSchema.optional(),
      robust: z.record(z.string(), rateSchema).default({}),
      certified: z.record(z.string(), rateSchema).optional(),
      /** Per threat: of the examples classified correctly, the share an attack broke. */
      attackSuccess: z.record(z.string(), rateSchema).optional(),
    })
    .optional(),
  /**
   * How the robust accuracies were measured: the suite (id:variant) when it ran, the extra
   * attacks, and `upperBound` when the suite was switched off, so every robust number is
   * only an upper bound from weaker attacks.
   */
  method: z
    .object({
      suite: z.string().nullable(),
      attacks: z.array(z.string()),
      upperBound: z.boolean(),
      /** Why the numbers are an upper bound beyond a missing suite (a target without gradients: black-box attacks only). */
      note: z.string().optional(),
    })
    .optional(),
  /** Gradient-masking checks per image threat id, at the threat's epsilon. */
  masking: z.record(z.string(), maskingSummary).optional(),
  /** Accuracy on the confirmed attacks of the plan's adversarial sets (reviewed production and evaluation examples). */
  adversarialSet: adversarialSetResult.optional(),
});

export type EvaluationResults = z.infer<typeof evaluationResultsSchema>;
export type ReliabilityBin = z.infer<typeof reliabilityBin>;
export type CurvePoint = z.infer<typeof curvePoint>;
export type MaskingSummary = z.infer<typeof maskingSummary>;
export type AdversarialSetResult = z.infer<typeof adversarialSetResult>;

/**
 * Reads a results file written by `rampart run` (`results.json`).
 *
 * @throws DataError `E_RESULTS_MISSING` when unreadable; ConfigError `E_RESULTS_INVALID` naming the bad field.
 * @example const candidate = await loadResults('.rampart/runs/mnist-example/results.json');
 */
export async function loadResults(path: string): Promise<EvaluationResults> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new DataError(
      'E_RESULTS_MISSING',
      `Cannot read evaluation results ${path}: ${(error as Error).message}. Pass a results.json written by 'rampart run'.`,
      { cause: error, details: { path } },
    );
  }
  const parsed = evaluationResultsSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(
      'E_RESULTS_INVALID',
      `${path} is not a Rampart results file: '${issue?.path.join('.') ?? ''}' ${issue?.message ?? 'is invalid'}.`,
      { details: { path, issues: parsed.error.issues } },
    );
  }
  return parsed.data;
}

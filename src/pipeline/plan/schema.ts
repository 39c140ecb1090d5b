/**
 * The robustness plan (`rampart.yaml`) as a schema: threat scenarios, data, model,
 * training, evaluation, success criteria and rollout. Validated once at the edge; the
 * rest of the pipeline trusts the typed `Plan`. Cross-field rules (a training threat that
 * names a scenario, criteria per existing threat ids) live in the `superRefine` at the end
 * so every problem is reported in one pass, each with its path.
 */
import { z } from 'zod';
import { gateCriteriaSchema } from '../../eval/gate-criteria.js';
import {
  defendedStackSchema,
  imageDataSchema,
  imageModelSchema,
  surrogateSchema,
  tabularSectionSchema,
  textSectionSchema,
  trainingSchema,
} from './sections.js';
import { checkChannels, checkEvaluationExtras, checkTabular, checkTraining, quoteList } from './refine.js';
import { planId, threatSchema } from './threat-schema.js';

export { CHANNELS, GOALS, IMPACTS, LIKELIHOODS, TECHNIQUES, TEXT_FAMILIES, threatSchema } from './threat-schema.js';
export { PLAN_METHODS, trainingSchema } from './sections.js';

/**
 * `standard` (full budgets), `standard:quick` (`quick` is the same), `standard:rand` (randomised
 * models: EOT), or `none`: attacks only, every number an upper bound.
 */
export const SUITES = ['standard', 'standard:quick', 'quick', 'standard:rand', 'none'] as const;
const id = planId;
const fraction = z.number().min(0).max(1);
const wholePositive = z.number().int().min(1);

const attackSpec = z.object({ id: z.string().min(1), options: z.record(z.string(), z.unknown()).optional() }).strict();

export const planSchema = z
  .object({
    version: z.literal(1).default(1),
    name: id,
    description: z.string().optional(),
    seed: z.number().int().min(0).default(1),
    threats: z.array(threatSchema).min(1),
    /** The image channel: its data, its model (built and trained, or yours) and, for a built model, its hardening. */
    data: imageDataSchema.optional(),
    model: imageModelSchema.optional(),
    training: trainingSchema.optional(),
    evaluation: z
      .object({
        /** Evaluate on the first N test examples. */
        limit: wholePositive.optional(),
        batchSize: wholePositive.default(256),
        /** Attacks run against every image threat (the per-example worst case counts). */
        attacks: z
          .array(attackSpec)
          .min(1)
          .default([{ id: 'pgd', options: { steps: 20 } }]),
        /**
         * The suite every image threat is evaluated with, on top of `attacks` (the worst case
         * per example over both counts). `none` opts out: the report then marks every robust
         * number "weaker evaluation: upper bound".
         */
        suite: z.enum(SUITES).default('standard'),
        /**
         * Gradient-masking checks at each image threat's epsilon on the hardened model, on the
         * first `limit` clean-correct examples; a failing check fails the gate. `false` turns them off.
         */
        masking: z.union([z.literal(false), z.object({ limit: wholePositive.default(50) }).strict()]).default({ limit: 50 }),
        /** Extra budgets per norm for the accuracy-vs-epsilon curve. */
        curve: z
          .object({ linf: z.array(z.number().positive().max(1)).optional(), l2: z.array(z.number().positive()).optional() })
          .strict()
          .optional(),
        /** Reliability bins for ECE. */
        calibrationBins: z.number().int().min(2).max(100).default(15),
        /** Fit a temperature on the validation split and ship it with the hardened model (its ECE is then measured with it). */
        temperatureScaling: z.boolean().default(true),
        /** Randomized smoothing (Cohen et al. 2019): certified L2 accuracy of the hardened model at each L2 threat's radius. */
        certification: z
          .object({
            sigma: z.number().positive(),
            /** Noise samples that bound the top class's probability. */
            samples: z.number().int().min(10).default(1000),
            /** Noise samples that pick the candidate class. */
            selectionSamples: z.number().int().min(1).default(100),
            alpha: z.number().gt(0).lt(1).default(0.001),
            /** Certify the first N evaluation examples (each costs samples + selectionSamples passes). */
            limit: wholePositive.default(100),
          })
          .strict()
          .optional(),
        /** Single-example predictions timed for latency p99. */
        latencySamples: z.number().int().min(10).max(10_000).default(200),
        /** Adversarial examples shown in the report. */
        examples: z.number().int().min(0).max(32).default(8),
        /** The adversary's own model for `transfer` image threats (trained by the pipeline). */
        surrogate: surrogateSchema.optional(),
        /** Adaptive evaluation of the model with its detectors; the `defendedStack` criterion reads it. */
        defendedStack: defendedStackSchema.optional(),
      })
      .strict()
      .default({
        batchSize: 256,
        attacks: [{ id: 'pgd', options: { steps: 20 } }],
        suite: 'standard',
        masking: { limit: 50 },
        calibrationBins: 15,
        temperatureScaling: true,
        latencySamples: 200,
        examples: 8,
      }),
    text: textSectionSchema.optional(),
    tabular: tabularSectionSchema.optional(),
    criteria: gateCriteriaSchema,
    rollout: z
      .object({
        phases: z
          .array(
            z
              .object({
                name: z.string().min(1),
                /** Share of traffic, 0 for shadow mode. */
                traffic: fraction,
                /** Minimum time in this phase, e.g. `30m`, `24h`, `7d` (`5s` for compressed schedules in tests). */
                duration: z
                  .string()
                  .regex(/^\d+(s|m|h|d)$/, 'must be a duration such as 5s, 30m, 24h or 7d')
                  .optional(),
                /** What must hold when the phase ends for the rollout to go on (see `rampart serve`'s rollout). */
                criteria: z
                  .object({
                    minAgreement: fraction.optional(),
                    minCanaryAccuracy: fraction.optional(),
                    maxAnomalyRate: fraction.optional(),
                    maxLatencyP99Ms: z.number().positive().optional(),
                    minSamples: z.number().int().min(0).optional(),
                  })
                  .strict()
                  .optional(),
              })
              .strict(),
          )
          .min(1),
      })
      .strict()
      .optional(),
    /** Where attack shards run: `queue: redis://host:port` sends them to `rampart worker` processes. */
    execution: z
      .object({
        queue: z
          .string()
          .regex(/^rediss?:\/\//, 'must be a redis:// URL')
          .optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((plan, ctx) => {
    const ids = new Map<string, number>();
    plan.threats.forEach((t, i) => {
      const first = ids.get(t.id);
      if (first !== undefined)
        ctx.addIssue({ code: 'custom', path: ['threats', i, 'id'], message: `duplicate threat id '${t.id}' (also threats[${first}])` });
      else ids.set(t.id, i);
    });
    const known = [...ids.keys()];
    checkChannels(plan, ctx);
    checkTraining(plan, ctx);
    checkTabular(plan, ctx);
    for (const key of Object.keys(plan.criteria.robustAccuracy ?? {})) {
      if (!ids.has(key))
        ctx.addIssue({
          code: 'custom',
          path: ['criteria', 'robustAccuracy', key],
          message: `names no threat; use one of ${quoteList(known)}`,
        });
    }
    const augment = plan.text?.augment;
    if (augment) {
      const textIds = plan.threats.filter((t) => t.channel === 'text').map((t) => t.id);
      if (!textIds.includes(augment.threat))
        ctx.addIssue({
          code: 'custom',
          path: ['text', 'augment', 'threat'],
          message: `must name a text threat: one of ${quoteList(textIds)} (got '${augment.threat}')`,
        });
    }
    const l2 = plan.threats.filter((t) => t.channel === 'image' && t.norm === 'l2').map((t) => t.id);
    if (plan.evaluation.certification && plan.model?.source !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['evaluation', 'certification'],
        message: 'certifies a model Rampart trains; remove it for an external model (model.source), which is evaluated as is',
      });
    for (const key of Object.keys(plan.criteria.certifiedAccuracy ?? {})) {
      if (!l2.includes(key))
        ctx.addIssue({
          code: 'custom',
          path: ['criteria', 'certifiedAccuracy', key],
          message: `must name an L2 image threat (certificates are L2 radii); use one of ${quoteList(l2)}`,
        });
    }
    checkEvaluationExtras(plan, ctx);
    if (plan.criteria.certifiedAccuracy && !plan.evaluation.certification) {
      ctx.addIssue({
        code: 'custom',
        path: ['evaluation', 'certification'],
        message: 'is required when criteria.certifiedAccuracy is set, e.g. { sigma: 0.25 }',
      });
    }
  });

/** A validated plan with defaults filled in. */
export type Plan = z.infer<typeof planSchema>;
/** A plan as written (before defaults). */
export type PlanInput = z.input<typeof planSchema>;
export type ThreatScenario = Plan['threats'][number];
export type ImageThreatScenario = Extract<ThreatScenario, { channel: 'image' }>;
export type TextThreatScenario = Extract<ThreatScenario, { channel: 'text' }>;
export type PlanCriteria = Plan['criteria'];
export type TabularThreatScenario = Extract<ThreatScenario, { channel: 'tabular' }>;

/**
 * The robustness plan (`rampart.yaml`) as a schema: threat scenarios, data, model,
 * training, evaluation, success criteria and rollout. Validated once at the edge; the
 * rest of the pipeline trusts the typed `Plan`. Cross-field rules (a training threat that
 * names a scenario, criteria per existing threat ids) live in the `superRefine` at the end
 * so every problem is reported in one pass, each with its path.
 */
import { z } from 'zod';
import { gateCriteriaSchema } from '../../eval/gate-criteria.js';
import { ARCHITECTURES } from '../../models/architectures.js';
import { objectiveOptionNames } from '../../training/objectives/registry.js';
import { OPTIMIZERS } from '../../training/optimizers.js';
import { planId, threatSchema } from './threat-schema.js';

export { CHANNELS, GOALS, IMPACTS, LIKELIHOODS, TECHNIQUES, TEXT_FAMILIES, threatSchema } from './threat-schema.js';

/**
 * `standard` (full budgets), `standard:quick` (`quick` is the same), `standard:rand` (randomised
 * models: EOT), or `none`: attacks only, every number an upper bound.
 */
export const SUITES = ['standard', 'standard:quick', 'quick', 'standard:rand', 'none'] as const;
/** Training methods a plan can name (`diversified` needs members, which only the library takes). */
export const PLAN_METHODS = ['standard', 'pgd-at', 'trades', 'fgsm-rs', 'noise'] as const;
const METHOD_OPTIONS = ['steps', 'stepSize', 'mixRatio', 'beta', 'sigma'] as const;
const id = planId;
const fraction = z.number().min(0).max(1);
const wholePositive = z.number().int().min(1);

const scheduleSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('constant') }).strict(),
  z.object({ kind: z.literal('cosine'), minFactor: fraction.optional() }).strict(),
  z.object({ kind: z.literal('one-cycle'), peakAt: z.number().gt(0).lt(1).optional() }).strict(),
  z.object({ kind: z.literal('step'), milestones: z.array(wholePositive).min(1), gamma: z.number().positive().default(0.1) }).strict(),
]);

const optimisation = {
  epochs: wholePositive,
  batchSize: wholePositive.default(64),
  optimizer: z.enum(OPTIMIZERS).default('adam'),
  learningRate: z.number().positive().max(10),
  momentum: fraction.optional(),
  schedule: scheduleSchema.default({ kind: 'constant' }),
};

const phaseSchema = z
  .object({
    /** Epochs this phase lasts; the last phase also covers any later epochs. */
    epochs: wholePositive,
    /** Fraction of the training threat's epsilon in this phase. */
    epsilonScale: z.number().gt(0).max(1),
    steps: wholePositive.optional(),
  })
  .strict();

export const trainingSchema = z
  .object({
    method: z.enum(PLAN_METHODS),
    /** The id of the (image) threat scenario to train against. */
    threat: id.optional(),
    steps: wholePositive.optional(),
    stepSize: z.number().positive().optional(),
    mixRatio: fraction.optional(),
    beta: z.number().min(0).optional(),
    sigma: z.number().positive().optional(),
    awp: z.boolean().optional(),
    ...optimisation,
    /** Phased exposure: the threat's epsilon ramps over these phases. */
    phases: z.array(phaseSchema).min(1).optional(),
    /** PGD steps of the per-epoch robust validation (best-robust selection); false turns it off. */
    robustValidation: z
      .union([z.literal(false), z.object({ steps: wholePositive.default(10), limit: wholePositive.default(500) }).strict()])
      .optional(),
  })
  .strict();

const attackSpec = z.object({ id: z.string().min(1), options: z.record(z.string(), z.unknown()).optional() }).strict();

export const planSchema = z
  .object({
    version: z.literal(1).default(1),
    name: id,
    description: z.string().optional(),
    seed: z.number().int().min(0).default(1),
    threats: z.array(threatSchema).min(1),
    data: z
      .object({
        /** `mnist` (bundled) or `idx:IMAGES,LABELS`. */
        dataset: z.string().regex(/^(mnist|idx:[^,]+,[^,]+)$/, "must be 'mnist' or 'idx:IMAGES_FILE,LABELS_FILE'"),
        splitSeed: z.number().int().min(0).default(1),
        /** Train on the first N training examples only. */
        trainLimit: wholePositive.optional(),
        /**
         * Registered adversarial sets (digest, prefix or `tag:NAME`; `since:TAG` for every set
         * registered since the model on TAG) mixed into the image training data, each example
         * repeated `weight` times (rounded, at least once) per epoch.
         */
        adversarial: z
          .array(z.object({ ref: z.string().min(1), weight: z.number().positive().max(100).default(1) }).strict())
          .max(16)
          .optional(),
      })
      .strict(),
    model: z
      .object({
        architecture: z.enum(ARCHITECTURES),
        /** Standard (non-adversarial) training of the baseline the hardened model is compared with. */
        baseline: z.object(optimisation).strict(),
      })
      .strict(),
    training: trainingSchema,
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
    /** The text channel: a text classifier, trained (with phased augmentation) and attacked for every text threat. */
    text: z
      .object({
        /** `spam-assassin` (bundled), `jsonl:PATH` or `csv:PATH` (fields `text` and `label`). */
        dataset: z.string().regex(/^(spam-assassin|jsonl:.+|csv:.+)$/, "must be 'spam-assassin', 'jsonl:PATH' or 'csv:PATH'"),
        splitSeed: z.number().int().min(0).default(1),
        /** Cut texts to this many characters (attack cost grows with length). */
        maxChars: wholePositive.default(2000),
        trainLimit: wholePositive.optional(),
        model: z
          .object({
            hidden: z.number().int().min(0).default(16),
            epochs: wholePositive.default(4),
            learningRate: z.number().positive().default(0.002),
            /**
             * `true`: the model reads normalised text and sits behind the normaliser (look-alikes,
             * invisible characters, leet, split words undone). `vocabulary`: the full defence of
             * defenses/normalize-text/vocabulary-defence.ts, built from the training split's words
             * (saved with the model): unambiguous spelling repair, unknown words dropped and
             * marked, synonym encoding, and a model that reads the marker counts.
             */
            normalize: z.union([z.boolean(), z.literal('vocabulary')]).default(false),
            /**
             * Flag the last class (spam) from this probability instead of 0.5; `auto` takes the
             * lowest whose validation F1 stays within half a point of the F1 at 0.5.
             */
            decisionThreshold: z.union([z.literal('auto'), z.number().gt(0).lt(1)]).optional(),
          })
          .strict()
          .default({ hidden: 16, epochs: 4, learningRate: 0.002, normalize: false }),
        /** Hardening by augmentation: perturbations from a text threat, with a phased rate. */
        augment: z
          .object({
            threat: id,
            phases: z
              .array(z.object({ epochs: wholePositive, rate: fraction }).strict())
              .min(1)
              .optional(),
            /**
             * Adversarial rounds after the augmented training: each round the greedy search
             * (`queries` per text; not the plan's `attack`, which evaluates) rewrites
             * `perRound` training texts of the last class (spam) against the deployed filter
             * until its score drops below `threshold`, the rewrites join the training set with
             * their label, and the model is trained again.
             */
            adversarial: z
              .object({
                rounds: wholePositive,
                perRound: wholePositive.default(300),
                queries: wholePositive.default(1000),
                threshold: z.number().gt(0).lt(1).default(0.05),
              })
              .strict()
              .optional(),
          })
          .strict()
          .optional(),
        /** The search run for every text threat: `greedy`, `beam` or `gradient`. */
        attack: z
          .object({ id: z.string().min(1).default('greedy'), options: z.record(z.string(), z.unknown()).optional() })
          .strict()
          .default({ id: 'greedy' }),
        /** Attack the first N test texts. */
        limit: wholePositive.default(100),
        examples: z.number().int().min(0).max(32).default(4),
      })
      .strict()
      .optional(),
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
    const training = plan.training;
    const accepted = objectiveOptionNames(training.method);
    for (const option of METHOD_OPTIONS) {
      if (training[option] !== undefined && !accepted.includes(option)) {
        const others = accepted.filter((o) => o !== 'threat');
        ctx.addIssue({
          code: 'custom',
          path: ['training', option],
          message: `method '${training.method}' does not take this option; its options are ${others.length > 0 ? quoteList(others) : '(none)'}`,
        });
      }
    }
    const adversarial = training.method !== 'standard' && training.method !== 'noise';
    if (adversarial && training.threat === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['training', 'threat'],
        message: `is required for method '${training.method}'; one of ${quoteList(imageIds(plan))}`,
      });
    }
    if (training.threat !== undefined) {
      const threat = plan.threats.find((t) => t.id === training.threat);
      if (!threat)
        ctx.addIssue({
          code: 'custom',
          path: ['training', 'threat'],
          message: `must name an image threat: one of ${quoteList(imageIds(plan))} (got '${training.threat}')`,
        });
      else if (threat.channel !== 'image')
        ctx.addIssue({
          code: 'custom',
          path: ['training', 'threat'],
          message: `must name an image threat: one of ${quoteList(imageIds(plan))} (got the ${threat.channel} threat '${training.threat}')`,
        });
    }
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
    for (const key of Object.keys(plan.criteria.certifiedAccuracy ?? {})) {
      if (!l2.includes(key))
        ctx.addIssue({
          code: 'custom',
          path: ['criteria', 'certifiedAccuracy', key],
          message: `must name an L2 image threat (certificates are L2 radii); use one of ${quoteList(l2)}`,
        });
    }
    if (plan.criteria.certifiedAccuracy && !plan.evaluation.certification) {
      ctx.addIssue({
        code: 'custom',
        path: ['evaluation', 'certification'],
        message: 'is required when criteria.certifiedAccuracy is set, e.g. { sigma: 0.25 }',
      });
    }
  });

function imageIds(plan: { threats: { id: string; channel: string }[] }): string[] {
  return plan.threats.filter((t) => t.channel === 'image').map((t) => t.id);
}

function quoteList(values: readonly string[]): string {
  return values.length === 0 ? '(none defined)' : values.map((v) => `'${v}'`).join(', ');
}

/** A validated plan with defaults filled in. */
export type Plan = z.infer<typeof planSchema>;
/** A plan as written (before defaults). */
export type PlanInput = z.input<typeof planSchema>;
export type ThreatScenario = Plan['threats'][number];
export type ImageThreatScenario = Extract<ThreatScenario, { channel: 'image' }>;
export type TextThreatScenario = Extract<ThreatScenario, { channel: 'text' }>;
export type PlanCriteria = Plan['criteria'];

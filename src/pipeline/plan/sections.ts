/**
 * The plan's channel sections as schemas: the image channel (`data`, `model`, `training`),
 * the text channel (`text`) and the tabular channel (`tabular`). Each is optional in the
 * plan; `schema.ts` composes them and checks the rules that span sections.
 */
import { z } from 'zod';
import { ARCHITECTURES } from '../../models/architectures.js';
import { dataSourceSchema } from '../../data/index.js';
import { modelSourceSchema } from '../../models/sources/load.js';
import { OPTIMIZERS } from '../../training/optimizers.js';
import { planId } from './threat-schema.js';

/**
 * Training methods a plan can name. `diversified` here is a diversity-regularised ensemble
 * of `members` copies of the architecture, fused into one model, or of `heads` dense heads on
 * one shared trunk (PGD-AT inputs when the training names a threat); `patch-at`, `sparse-at`
 * and `occlusion-at` train against a `patch`, `l0` and `occlusion` threat.
 */
export const PLAN_METHODS = [
  'standard',
  'pgd-at',
  'trades',
  'fgsm-rs',
  'noise',
  'patch-at',
  'sparse-at',
  'occlusion-at',
  'diversified',
] as const;
const id = planId;
const fraction = z.number().min(0).max(1);
const wholePositive = z.number().int().min(1);

const scheduleSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('constant') }).strict(),
  z.object({ kind: z.literal('cosine'), minFactor: fraction.optional() }).strict(),
  z.object({ kind: z.literal('one-cycle'), peakAt: z.number().gt(0).lt(1).optional() }).strict(),
  z.object({ kind: z.literal('step'), milestones: z.array(wholePositive).min(1), gamma: z.number().positive().default(0.1) }).strict(),
]);

export const optimisation = {
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
    /** `diversified`: ensemble members (2–16), fused into one model. */
    members: z.number().int().min(2).max(16).optional(),
    /** `diversified`: K dense heads on one shared trunk (2–16) instead of whole members; served for about one model's cost. */
    heads: z.number().int().min(2).max(16).optional(),
    /** `diversified`: weight of the members' diversity term (default 0.5). */
    diversity: z.number().min(0).max(100).optional(),
    ...optimisation,
    /** Phased exposure: the threat's epsilon ramps over these phases. */
    phases: z.array(phaseSchema).min(1).optional(),
    /** PGD steps of the per-epoch robust validation (best-robust selection); false turns it off. */
    robustValidation: z
      .union([z.literal(false), z.object({ steps: wholePositive.default(10), limit: wholePositive.default(500) }).strict()])
      .optional(),
  })
  .strict();

/** Adversarial sets a channel's training mixes in (see `imageDataSchema.adversarial` and `text.adversarial`). */
export const adversarialRefsSchema = z
  .array(z.object({ ref: z.string().min(1), weight: z.number().positive().max(100).default(1) }).strict())
  .max(16);

/** The image channel's data: any data source (bundled `mnist`, IDX, an image folder, NPY/NPZ). */
export const imageDataSchema = z
  .object({
    /** A data source as a spec string (`mnist`, `idx:IMAGES,LABELS`, `folder:DIR?resize=28x28`, `npz:FILE`...) or its object form. */
    dataset: dataSourceSchema,
    splitSeed: z.number().int().min(0).default(1),
    /** Train on the first N training examples only. */
    trainLimit: wholePositive.optional(),
    /**
     * Registered adversarial sets (digest, prefix or `tag:NAME`; `since:TAG` for every image
     * set registered since the model on TAG) mixed into training, each example repeated
     * `weight` times (rounded, at least once) per epoch: image sets into the image model's
     * training, text sets into the text model's (the plan's `text` section).
     */
    adversarial: adversarialRefsSchema.optional(),
  })
  .strict();

/**
 * The image channel's model: either one Rampart builds and trains (`architecture` with its
 * `baseline` training; `training` then hardens it), or yours (`source`), evaluated as is.
 * Which of the two is checked with the plan, so every problem is reported with its path.
 */
export const imageModelSchema = z
  .object({
    architecture: z.enum(ARCHITECTURES).optional(),
    /** Standard (non-adversarial) training of the baseline the hardened model is compared with. */
    baseline: z.object(optimisation).strict().optional(),
    /** Your model: `onnx:PATH`, `onnxruntime:PATH`, `tfjs:PATH`, `http://…`, a `.onnx` file, a saved-model directory, or `{ kind, … }`. */
    source: modelSourceSchema.optional(),
  })
  .strict();

/** A tabular model Rampart builds: an MLP over the rows, standardised with the training split's mean and deviation. */
export const tabularBuiltModelSchema = z
  .object({
    architecture: z.literal('mlp'),
    /** `train`: a frozen first layer standardises each feature, so attacks still work in the features' own units. */
    standardize: z.literal('train').optional(),
    /** Standard training of the baseline the hardened model is compared with. */
    baseline: z.object(optimisation).strict(),
  })
  .strict();

/** `pgd-at` against a tabular threat: PGD projected onto its constraints (training/objectives/tabular-pgd-at.ts). */
export const tabularTrainingSchema = z
  .object({
    method: z.literal('pgd-at'),
    /** The id of the tabular threat to train against. */
    threat: id,
    steps: wholePositive.max(1000).default(10),
    stepSize: z.number().positive().optional(),
    mixRatio: fraction.default(1),
    /** Labels whose rows the adversary perturbs in training; default every label. */
    attackClasses: z.array(z.number().int().min(0)).min(1).max(1000).optional(),
    ...optimisation,
  })
  .strict();

/**
 * The tabular channel: a CSV of numeric features with a label column, and your model. Every
 * tabular threat is evaluated with the plan's L∞/L2 attacks in the features' own units,
 * inside the data's bounds, and within the threat's `constraints` when it has them.
 */
export const tabularSectionSchema = z
  .object({
    /** A CSV source (`csv:PATH` or `{ kind: csv, path, ignoreColumns, bounds... }`): a header row, numeric features, a label column. */
    dataset: dataSourceSchema.refine((spec) => spec !== 'mnist' && spec.kind === 'csv', { message: "must be a CSV source: 'csv:PATH'" }),
    /** The label column's name (unless the CSV source names its own `labelColumn`). */
    labelColumn: z.string().min(1).default('label'),
    splitSeed: z.number().int().min(0).default(1),
    /** Columns that are neither features nor the label (a row number, a timestamp). */
    ignoreColumns: z.array(z.string().min(1)).max(4096).default([]),
    /** Split fractions (stratified by class); default 0.8 / 0.1 / 0.1. */
    split: z.object({ train: fraction, validation: fraction, test: fraction }).strict().optional(),
    /** Repeat rows of every class but the largest until each holds `share` of the largest's count (training only). */
    oversample: z
      .object({ share: z.number().gt(0).max(1) })
      .strict()
      .optional(),
    /** Your model (`source`), evaluated as is, or one Rampart builds (`architecture`), trains and hardens with `training`. */
    model: z.union([z.object({ source: modelSourceSchema }).strict(), tabularBuiltModelSchema]),
    /** Adversarial training of the built model against a tabular threat, with constrained PGD. */
    training: tabularTrainingSchema.optional(),
    /** Labels of the test rows the attacks perturb (e.g. only anomalies); default every row. */
    attackClasses: z.array(z.number().int().min(0)).min(1).max(1000).optional(),
    /** Attacks run against every tabular threat (the per-example worst case counts). */
    attacks: z
      .array(z.object({ id: z.string().min(1), options: z.record(z.string(), z.unknown()).optional() }).strict())
      .min(1)
      .default([{ id: 'fgsm' }, { id: 'pgd', options: { steps: 20 } }]),
    /** Evaluate on the first N test rows. */
    limit: wholePositive.default(500),
    batchSize: wholePositive.default(256),
  })
  .strict();

/** The text channel: a text classifier, trained (with phased augmentation) and attacked for every text threat. */
export const textSectionSchema = z
  .object({
    /** `spam-assassin` (bundled), `jsonl:PATH` or `csv:PATH` (fields `text` and `label`). */
    dataset: z.string().regex(/^(spam-assassin|jsonl:.+|csv:.+)$/, "must be 'spam-assassin', 'jsonl:PATH' or 'csv:PATH'"),
    splitSeed: z.number().int().min(0).default(1),
    /** Cut texts to this many characters (attack cost grows with length). */
    maxChars: wholePositive.default(2000),
    trainLimit: wholePositive.optional(),
    /**
     * Registered text adversarial sets (confirmed text attacks, reviewed rewrites) mixed into
     * the text model's training, each text repeated `weight` times; `since:TAG` takes every
     * text set registered since the model on TAG. Text sets listed under `data.adversarial` join too.
     */
    adversarial: adversarialRefsSchema.optional(),
    /**
     * Your text filter, evaluated as is instead of one Rampart trains: the directory of a text
     * model Rampart saved (with its normaliser and decision threshold). `model` and `augment` are then unused.
     */
    source: z.string().min(1).max(4096).optional(),
    model: z
      .object({
        /**
         * `hashed-mlp` (default): hashed word and character n-grams into an MLP. `char-cnn`: a
         * character-level CNN (models/text/char-cnn.ts) that reads words in context; `hidden`
         * is then the width of its dense layer (0 for none).
         */
        kind: z.enum(['hashed-mlp', 'char-cnn']).default('hashed-mlp'),
        /** char-cnn: characters read per text (the rest is cut), in [16, 8192]. */
        inputChars: z.number().int().min(16).max(8192).default(1024),
        /** char-cnn: filters of each convolution. */
        filters: z.number().int().min(1).max(256).default(32),
        hidden: z.number().int().min(0).default(16),
        /** Unset: each kind's trainer default (hashed-mlp 4 epochs at 0.002, char-cnn 6 at 0.005). */
        epochs: wholePositive.optional(),
        learningRate: z.number().positive().optional(),
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
         * one with the best validation F1 among those flagging at most `falsePositiveBudget`
         * of validation ham.
         */
        decisionThreshold: z.union([z.literal('auto'), z.number().gt(0).lt(1)]).optional(),
        /** Largest share of ham the `auto` threshold may flag on validation; default 0.01 (1%). */
        falsePositiveBudget: z.number().min(0).max(1).default(0.01),
      })
      .strict()
      .default({
        kind: 'hashed-mlp',
        inputChars: 1024,
        filters: 32,
        hidden: 16,
        normalize: false,
        falsePositiveBudget: 0.01,
      }),
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
  .strict();

/**
 * The adversary's own model for `transfer` image threats: an architecture the pipeline
 * trains (standard training) on the image data's validation split — data an adversary could
 * collect, disjoint from the model's training and test examples. Without it, transfer
 * threats are evaluated white-box (a lower bound on robustness; the report says so).
 */
export const surrogateSchema = z
  .object({
    architecture: z.enum(ARCHITECTURES).default('mlp'),
    epochs: z.number().int().min(1).max(50).default(3),
    learningRate: z.number().positive().max(10).default(0.002),
    /** Train on the first N validation examples. */
    limit: wholePositive.max(100_000).default(2000),
  })
  .strict();

/**
 * Adaptive evaluation of the defended stack (model and detectors attacked together, see
 * src/eval/adaptive) at one L∞/L2 image threat, with the detection layers `rampart serve`
 * runs, configured as there: `abstain` (threshold on the top probability) and `ood`
 * (Mahalanobis distance on the model's logits, fitted on the first `fitLimit` validation
 * examples; `flagAt` times the fitted threshold). `false` leaves a layer out.
 */
export const defendedStackSchema = z
  .object({
    threat: id,
    layers: z
      .object({
        abstain: z
          .union([z.literal(false), z.object({ threshold: z.number().gt(0).lt(1).default(0.5) }).strict()])
          .default({ threshold: 0.5 }),
        ood: z
          .union([
            z.literal(false),
            z.object({ flagAt: z.number().positive().default(1), fitLimit: z.number().int().min(10).max(100_000).default(2000) }).strict(),
          ])
          .default({ flagAt: 1, fitLimit: 2000 }),
        /**
         * The fused ensemble layer (serve's `ensemble: { fused: true }`): every member's or head's
         * vote is attacked with the model. Off by default; a model that is not an ensemble has no members to judge.
         */
        ensemble: z.union([z.literal(false), z.object({ flagAt: z.number().gt(0).max(1).default(0.5) }).strict()]).default(false),
      })
      .strict()
      .default({ abstain: { threshold: 0.5 }, ood: { flagAt: 1, fitLimit: 2000 }, ensemble: false }),
    /** Attack the first N evaluation examples (each costs the bare attacks plus `steps` joint steps per configuration). */
    limit: wholePositive.max(10_000).default(100),
    /** Joint ascent steps of the stack attack. */
    steps: wholePositive.max(1000).default(20),
  })
  .strict();

/**
 * Training hashed n-gram text classifiers, optionally with adversarial augmentation: each
 * epoch, a share of the training texts is replaced by a random perturbation drawn from
 * the threat's families (the same transformations the attacks use). The share ramps over
 * phases (phased exposure): the model first learns the task on clean text, then sees
 * more and more perturbed text, which keeps clean accuracy while it learns invariance.
 *
 * With `select: 'salient'`, the perturbed words are not drawn at random but are the ones the
 * current model leans on most (first-order importance from one gradient per text), as a
 * word-importance attack would choose them; see `salient-perturbation.ts`.
 *
 * With `normalize`, every training text (perturbed or not) goes through the same
 * normalisation the deployed pipeline applies, so the model learns the distribution it
 * will see behind `normalizedClassifier`.
 */
import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../../core/errors.js';
import { createRng } from '../../core/rng.js';
import { runTextEpochs, type TextTrainProgress } from './epochs.js';
import type { TextThreatModel } from '../../threats/text-threat.js';
import { randomPerturbation } from '../../attacks/text/perturb.js';
import { checkTextDataset, type TextDataset } from '../../data/text/text-dataset.js';
import { createTextNormalizer, type NormalizeTextOptions } from '../../defenses/normalize-text/normalize.js';
import { DEFAULT_FEATURIZER, HashedNgramFeaturizer, type FeaturizerConfig, type SparseVector } from '../../models/text/featurizer.js';
import { buildHashedTextModel, HashedTextClassifier } from '../../models/text/hashed-classifier.js';
import { salientPerturbation } from './salient-perturbation.js';

/** One phase of augmentation exposure: for `epochs` epochs, perturb this share of texts. */
export interface AugmentPhase {
  /** Epochs the phase lasts; the last phase also covers every later epoch. */
  readonly epochs: number;
  /** Share of the training texts replaced by a perturbed copy, in [0, 1]. */
  readonly rate: number;
}

export interface TextAugmentOptions {
  /** Families and budget the perturbations are drawn from. */
  readonly threat: TextThreatModel;
  /** Exposure schedule; default: 1 clean epoch, 1 epoch at 0.25, then 0.5. */
  readonly schedule?: readonly AugmentPhase[];
  /** Class indices whose texts are perturbed; default every class. */
  readonly classes?: readonly number[];
  /**
   * Which words are perturbed: `random` (default) or `salient`, the words that most support
   * the text's label under the model being trained, up to the whole word budget.
   */
  readonly select?: 'random' | 'salient';
  /**
   * The perturbation; default `randomPerturbation` (or `salientPerturbation` with
   * `select: 'salient'`, which passes each word's importance for the text's label).
   */
  readonly perturb?: (text: string, threat: TextThreatModel, seed: number, importance?: (word: string) => number) => string;
}

export type { TextTrainProgress } from './epochs.js';

export interface TrainTextOptions {
  /** Weight init, shuffles and augmentation draws. Default 1. */
  readonly seed?: number;
  /** Default 4. */
  readonly epochs?: number;
  /** Default 32. */
  readonly batchSize?: number;
  /** Adam learning rate; default 0.002. */
  readonly learningRate?: number;
  /** Hidden units of the MLP; 0 for logistic regression. Default 16. */
  readonly hidden?: number;
  readonly featurizer?: Partial<FeaturizerConfig>;
  /** Train (and validate) on normalised text; `true` for the default pipeline. */
  readonly normalize?: boolean | NormalizeTextOptions;
  readonly augment?: TextAugmentOptions;
  /** Held-out data scored after each epoch. */
  readonly validation?: TextDataset;
  /** Model id in reports; default `hashed-mlp`. */
  readonly id?: string;
  readonly onEpoch?: (progress: TextTrainProgress) => void;
}

export interface TextTrainResult {
  readonly classifier: HashedTextClassifier;
  readonly history: readonly TextTrainProgress[];
}

/** Default augmentation exposure: 1 clean epoch, 1 at 0.25, then 0.5. */
export const DEFAULT_SCHEDULE: readonly AugmentPhase[] = [
  { epochs: 1, rate: 0 },
  { epochs: 1, rate: 0.25 },
  { epochs: 1, rate: 0.5 },
];

/**
 * Trains a hashed n-gram MLP (or logistic model) on a text data set.
 *
 * @throws InputError `E_TEXT_DATASET` when the data set is malformed.
 * @throws UsageError `E_TEXT_TRAIN_OPTION` for a non-positive epoch count, batch size,
 *   learning rate or negative hidden size; `E_AUGMENT_SCHEDULE` for a bad schedule;
 *   `E_FEATURIZER_CONFIG` for bad featurizer settings.
 * @example
 * const { classifier } = await trainTextClassifier(train, { epochs: 4, normalize: true,
 *   augment: { threat: textThreatModel({ maxWordFraction: 0.2, maxCharEditsPerWord: 2, families: ['typo', 'leet'] }) } });
 */
export async function trainTextClassifier(dataset: TextDataset, options: TrainTextOptions = {}): Promise<TextTrainResult> {
  checkTextDataset(dataset);
  const seed = options.seed ?? 1;
  const epochs = options.epochs ?? 4;
  const batchSize = options.batchSize ?? 32;
  const learningRate = options.learningRate ?? 0.002;
  const hidden = options.hidden ?? 16;
  positive('epochs', epochs, true);
  positive('batchSize', batchSize, true);
  positive('learningRate', learningRate, false);
  if (!Number.isInteger(hidden) || hidden < 0) {
    throw new UsageError('E_TEXT_TRAIN_OPTION', `trainTextClassifier: hidden must be a whole number >= 0 (0 = logistic), got ${hidden}.`, {
      details: { hidden },
    });
  }
  const schedule = options.augment ? (options.augment.schedule ?? DEFAULT_SCHEDULE) : undefined;
  if (schedule) checkSchedule(schedule);
  const select = options.augment?.select ?? 'random';
  if (select !== 'random' && select !== 'salient') {
    throw new UsageError('E_AUGMENT_SCHEDULE', `Augmentation select must be 'random' or 'salient', got '${String(select)}'.`, {
      details: { select },
    });
  }

  const featurizer = new HashedNgramFeaturizer({ ...DEFAULT_FEATURIZER, ...options.featurizer });
  const normalizeOptions =
    options.normalize === undefined || options.normalize === false ? undefined : options.normalize === true ? {} : options.normalize;
  // The deployed pipeline's normaliser (normalizedClassifier uses the same): it caches lines,
  // and a perturbed copy of a message shares most of its lines with the clean one.
  const normalizer = normalizeOptions ? createTextNormalizer(normalizeOptions) : undefined;
  const prepare = (text: string): string => (normalizer ? normalizer(text) : text);
  const numClasses = dataset.classes.length;
  const model = buildHashedTextModel(featurizer.config, hidden, numClasses, seed);
  const optimizer = tf.train.adam(learningRate);
  const rng = createRng(seed);
  const clean: SparseVector[] = dataset.texts.map((t) => featurizer.sparse(prepare(t)));
  const augmentClasses = new Set(options.augment?.classes ?? dataset.classes.map((_, i) => i));
  const perturb: NonNullable<TextAugmentOptions['perturb']> =
    options.augment?.perturb ??
    (select === 'salient'
      ? (text, threat, seed, importance) => salientPerturbation(text, threat, seed, importance ?? (() => 0))
      : randomPerturbation);
  const info = {
    architecture: 'hashed-mlp' as const,
    hidden,
    featurizer: featurizer.config,
    trainedOnNormalizedText: normalizeOptions !== undefined,
  };
  const augment = options.augment;
  let history: TextTrainProgress[];
  try {
    history = await runTextEpochs({
      epochs,
      batchSize,
      count: dataset.texts.length,
      rateAt: (epoch) => (schedule ? rateAt(schedule, epoch) : 0),
      augmentable: (i) => augment !== undefined && augmentClasses.has(dataset.labels[i] as number),
      rng,
      step: (batch, seeds) => {
        const salient =
          select === 'salient'
            ? batch
                .filter((_, k) => seeds[k] !== undefined)
                .map((i) => ({ vector: clean[i] as SparseVector, label: dataset.labels[i] as number }))
            : [];
        const importance =
          salient.length > 0 ? salience(new HashedTextClassifier(model, { id: 'snapshot', classes: dataset.classes, info }), salient) : [];
        let augmented = 0;
        const rows = batch.map((i, k) => {
          const label = dataset.labels[i] as number;
          const seed = seeds[k];
          if (augment && seed !== undefined) {
            const perturbed = perturb(dataset.texts[i] as string, augment.threat, seed, importance[augmented++]);
            return { vector: featurizer.sparse(prepare(perturbed)), label };
          }
          return { vector: clean[i] as SparseVector, label };
        });
        return trainStep(model, optimizer, rows, featurizer.size, numClasses);
      },
      validate: () =>
        options.validation
          ? accuracy(
              new HashedTextClassifier(model, { id: options.id ?? 'hashed-mlp', classes: dataset.classes, info }),
              options.validation,
              prepare,
            )
          : undefined,
      onEpoch: options.onEpoch,
    });
  } catch (error) {
    model.dispose();
    throw error;
  } finally {
    optimizer.dispose();
  }
  return { classifier: new HashedTextClassifier(model, { id: options.id ?? 'hashed-mlp', classes: dataset.classes, info }), history };
}

/** The augmentation rate in force at a 0-based epoch. */
export function rateAt(schedule: readonly AugmentPhase[], epoch: number): number {
  let end = 0;
  for (const phase of schedule) {
    end += phase.epochs;
    if (epoch < end) return phase.rate;
  }
  return (schedule[schedule.length - 1] as AugmentPhase).rate;
}

/**
 * For each row, a function giving a word's first-order support for the row's label: the
 * features the word contributes (its unigram and character n-grams) times the gradient of
 * the label's log-probability at those features, summed. Removing a word with a large
 * value lowers the label's probability most, which is what an attacker's word ranking finds.
 */
function salience(snapshot: HashedTextClassifier, rows: { vector: SparseVector; label: number }[]): ((word: string) => number)[] {
  return rows.map(({ vector, label }) => {
    const gradient = snapshot.labelGradientAt(vector, label);
    const value = new Map<number, number>();
    for (let k = 0; k < vector.indices.length; k++) value.set(vector.indices[k] as number, vector.values[k] as number);
    return (word: string): number => {
      let sum = 0;
      for (const index of snapshot.featurizer.indicesOfWord(word)) {
        const x = value.get(index);
        if (x !== undefined) sum += x * gradient(index);
      }
      return sum;
    };
  });
}

function trainStep(
  model: tf.LayersModel,
  optimizer: tf.Optimizer,
  rows: { vector: SparseVector; label: number }[],
  buckets: number,
  numClasses: number,
): number {
  const x = new Float32Array(rows.length * buckets);
  const y = new Float32Array(rows.length * numClasses);
  rows.forEach(({ vector, label }, r) => {
    for (let k = 0; k < vector.indices.length; k++) x[r * buckets + (vector.indices[k] as number)] = vector.values[k] as number;
    y[r * numClasses + label] = 1;
  });
  return tf.tidy(() => {
    const xs = tf.tensor2d(x, [rows.length, buckets]);
    const ys = tf.tensor2d(y, [rows.length, numClasses]);
    const loss = optimizer.minimize(
      () => tf.losses.softmaxCrossEntropy(ys, model.apply(xs, { training: true }) as tf.Tensor2D) as tf.Scalar,
      true,
    );
    return (loss as tf.Scalar).dataSync()[0] as number;
  });
}

function accuracy(classifier: HashedTextClassifier, data: TextDataset, prepare: (t: string) => string): number {
  let correct = 0;
  data.texts.forEach((text, i) => {
    const p = classifier.probaOf(prepare(text));
    let best = 0;
    for (let c = 1; c < p.length; c++) if ((p[c] as number) > (p[best] as number)) best = c;
    if (best === data.labels[i]) correct++;
  });
  return data.texts.length === 0 ? 0 : correct / data.texts.length;
}

/**
 * Checks a positive training option.
 *
 * @throws UsageError `E_TEXT_TRAIN_OPTION` naming the option.
 */
export function positive(name: string, value: number, integer: boolean): void {
  if (!(typeof value === 'number' && value > 0 && Number.isFinite(value)) || (integer && !Number.isInteger(value))) {
    throw new UsageError(
      'E_TEXT_TRAIN_OPTION',
      `trainTextClassifier: ${name} must be a ${integer ? 'whole number' : 'number'} > 0, got ${String(value)}.`,
      {
        details: { [name]: value },
      },
    );
  }
}

/**
 * Checks an augmentation schedule.
 *
 * @throws UsageError `E_AUGMENT_SCHEDULE` for an empty schedule or a bad phase.
 */
export function checkSchedule(schedule: readonly AugmentPhase[]): void {
  if (schedule.length === 0)
    throw new UsageError(
      'E_AUGMENT_SCHEDULE',
      'Augmentation schedule needs at least one phase, e.g. [{ epochs: 1, rate: 0 }, { epochs: 3, rate: 0.5 }].',
    );
  schedule.forEach((p, i) => {
    if (!Number.isInteger(p.epochs) || p.epochs < 1)
      throw new UsageError('E_AUGMENT_SCHEDULE', `Augmentation phase ${i + 1}: epochs must be a whole number >= 1, got ${p.epochs}.`);
    if (!(p.rate >= 0 && p.rate <= 1))
      throw new UsageError('E_AUGMENT_SCHEDULE', `Augmentation phase ${i + 1}: rate must be in [0, 1], got ${p.rate}.`);
  });
}

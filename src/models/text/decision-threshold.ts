/**
 * The operating point of a filter: flag a text as the positive class (spam) once that
 * class's probability reaches a threshold, instead of at 0.5. A filter that flags at 0.1
 * makes an attacker push the spam probability below 0.1 rather than just below 0.5, which
 * takes more edits than the budget allows on many more messages; on clean mail it costs
 * only the few ham messages that score between the two. Spam filters have always chosen
 * their threshold (SpamAssassin's `required_score`); here the choice is made on validation
 * data with an explicit bound on the clean F1 given up.
 *
 * The thresholded filter is itself a TextClassifier whose probabilities are the model's
 * with the positive class's odds multiplied by (1 - t) / t (a prior shift), so the argmax
 * every attack and metric uses is the thresholded decision and an adaptive attacker
 * queries exactly what is deployed.
 */
import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../../core/errors.js';
import type { TextDataset } from '../../data/text/text-dataset.js';
import type { TextClassifier, TextWhiteBox } from './text-classifier.js';
import { precisionRecallF1, predictInBatches } from './metrics.js';

export interface DecisionThresholdOptions {
  /** Index of the class flagged at the threshold (e.g. spam). */
  readonly positiveClass: number;
  /** Probability of `positiveClass` from which it is predicted, in (0, 1); 0.5 changes nothing. */
  readonly threshold: number;
  /** Id in reports; default `${model.id}@${threshold}`. */
  readonly id?: string;
}

/**
 * Wraps `model` so `positiveClass` is predicted once its probability reaches `threshold`
 * (exactly, for two classes; with more, the class's odds are scaled by the same factor
 * against all the others). The white-box path adds the same shift to the logits. At 0.5
 * (and no `id`) it returns `model` itself.
 *
 * @throws UsageError `E_DECISION_THRESHOLD` for a threshold outside (0, 1) or a class the
 *   model does not have.
 * @example
 * const filter = withDecisionThreshold(defended, { positiveClass: 1, threshold: 0.1 });
 */
export function withDecisionThreshold(model: TextClassifier, options: DecisionThresholdOptions): TextClassifier {
  const { positiveClass: c, threshold } = options;
  checkClass(model.classes, c);
  if (!(threshold > 0 && threshold < 1)) {
    throw new UsageError(
      'E_DECISION_THRESHOLD',
      `Decision threshold: threshold must be a probability strictly between 0 and 1, got ${threshold}; 0.5 is the plain argmax.`,
      {
        details: { threshold },
      },
    );
  }
  // At 0.5 the shift is the identity: the filter is returned as it is (no wrapper to pay for per query).
  if (threshold === 0.5 && options.id === undefined) return model;
  const odds = (1 - threshold) / threshold;
  const shift = (p: Float32Array): Float32Array => {
    const pc = p[c] as number;
    const scale = 1 / (odds * pc + (1 - pc));
    const out = Float32Array.from(p, (v) => v * scale);
    out[c] = odds * pc * scale;
    return out;
  };
  const inner = model.whiteBox;
  const logOdds = Math.log(odds);
  const whiteBox: TextWhiteBox | undefined = inner
    ? {
        features: (texts) => inner.features(texts),
        logitsFromFeatures: (features) => tf.add(inner.logitsFromFeatures(features), tf.oneHot(c, model.classes.length).mul(logOdds)),
        featureIndicesOf: (word) => inner.featureIndicesOf(word),
      }
    : undefined;
  return {
    id: options.id ?? `${model.id}@${threshold}`,
    classes: model.classes,
    predictProba: async (texts) => (await model.predictProba(texts)).map(shift),
    ...(whiteBox ? { whiteBox } : {}),
  };
}

export interface ChooseThresholdOptions {
  /** Default: the last class (e.g. `spam` in `['ham', 'spam']`). */
  readonly positiveClass?: number;
  /** Most validation F1 (as a fraction: 0.005 is half a point) given up against the 0.5 threshold; default 0.005. */
  readonly maxF1Loss?: number;
  /** Thresholds considered; default 0.5 down to 0.01. */
  readonly candidates?: readonly number[];
  readonly batchSize?: number;
}

export interface ThresholdChoice {
  readonly threshold: number;
  /** Validation F1 of the positive class at the chosen threshold and at 0.5. */
  readonly f1: number;
  readonly f1AtHalf: number;
  readonly precision: number;
  readonly recall: number;
  /** Every candidate with its validation F1, for the report. */
  readonly scanned: readonly { readonly threshold: number; readonly f1: number }[];
}

const DEFAULT_CANDIDATES = [0.5, 0.4, 0.3, 0.2, 0.15, 0.1, 0.07, 0.05, 0.03, 0.02, 0.01];

/**
 * The lowest candidate threshold whose F1 on `validation` stays within `maxF1Loss` of the
 * F1 at 0.5: the most an attacker must move the score for the clean F1 the caller accepts
 * to give up. Scores the validation set once.
 *
 * @throws UsageError `E_DECISION_THRESHOLD` for an empty validation set, a class the model
 *   does not have, a negative `maxF1Loss` or a candidate outside (0, 1).
 */
export async function chooseDecisionThreshold(
  model: TextClassifier,
  validation: TextDataset,
  options: ChooseThresholdOptions = {},
): Promise<ThresholdChoice> {
  const c = options.positiveClass ?? model.classes.length - 1;
  checkClass(model.classes, c);
  const maxF1Loss = options.maxF1Loss ?? 0.005;
  const candidates = options.candidates ?? DEFAULT_CANDIDATES;
  if (validation.texts.length === 0) {
    throw new UsageError(
      'E_DECISION_THRESHOLD',
      `Decision threshold: the validation set '${validation.name}' is empty; pass labelled texts to choose a threshold on.`,
    );
  }
  if (!(maxF1Loss >= 0))
    throw new UsageError('E_DECISION_THRESHOLD', `Decision threshold: maxF1Loss must be >= 0, got ${maxF1Loss}.`, {
      details: { maxF1Loss },
    });
  const bad = candidates.find((t) => !(t > 0 && t < 1));
  if (bad !== undefined || candidates.length === 0) {
    throw new UsageError(
      'E_DECISION_THRESHOLD',
      `Decision threshold: candidates must be probabilities strictly between 0 and 1, got ${bad ?? 'none'}.`,
      { details: { candidates } },
    );
  }
  const scores = (await predictInBatches(model, validation.texts, options.batchSize)).map((p) => p[c] as number);
  const at = (threshold: number): { f1: number; precision: number; recall: number } =>
    precisionRecallF1(
      scores.map((score) => (score >= threshold ? c : -1)),
      validation.labels,
      c,
    );
  const half = at(0.5);
  const scanned = candidates.map((threshold) => ({ threshold, ...at(threshold) }));
  const best = scanned
    .filter((s) => s.f1 >= half.f1 - maxF1Loss)
    .reduce((low, s) => (s.threshold < low.threshold ? s : low), { threshold: 0.5, ...half });
  return {
    threshold: best.threshold,
    f1: best.f1,
    f1AtHalf: half.f1,
    precision: best.precision,
    recall: best.recall,
    scanned: scanned.map(({ threshold, f1 }) => ({ threshold, f1 })),
  };
}

function checkClass(classes: readonly string[], c: number): void {
  if (!Number.isInteger(c) || c < 0 || c >= classes.length) {
    throw new UsageError(
      'E_DECISION_THRESHOLD',
      `Decision threshold: class ${c} is not one of the model's; use 0..${classes.length - 1} (${classes.join(', ')}).`,
      {
        details: { class: c, classes },
      },
    );
  }
}

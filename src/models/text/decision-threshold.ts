/**
 * The operating point of a filter: flag a text as the positive class (spam) once that
 * class's probability reaches a threshold, instead of at 0.5. A filter that flags at 0.1
 * makes an attacker push the spam probability below 0.1 rather than just below 0.5, which
 * takes more edits than the budget allows on many more messages; on clean mail it costs
 * only the few ham messages that score between the two. Spam filters have always chosen
 * their threshold (SpamAssassin's `required_score`); here the choice is made on validation
 * data under a false-positive budget: of the thresholds that flag at most that share of ham,
 * the one with the best F1 (optionally, the lowest within an F1 tolerance of 0.5's).
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
import { falsePositiveRate, precisionRecallF1, predictInBatches } from './metrics.js';

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
  /**
   * Largest share of validation texts of the other classes (ham) the filter may flag, in
   * [0, 1]; default 0.01 (1%). Thresholds above it are not chosen; when none meets it, the
   * one with the lowest rate is (and `withinBudget` is false).
   */
  readonly maxFalsePositiveRate?: number;
  /**
   * Without it (the default), the threshold with the best validation F1 under the budget
   * (the lowest of equals). With it, the lowest threshold under the budget whose F1 stays
   * within this much (a fraction: 0.005 is half a point) of the F1 at 0.5: clean F1 traded
   * for a score the attacker must push further down.
   */
  readonly maxF1Loss?: number;
  /** Thresholds considered; default 0.99 down to 0.01. */
  readonly candidates?: readonly number[];
  readonly batchSize?: number;
}

/** One candidate threshold on the validation set. */
export interface ThresholdPoint {
  readonly threshold: number;
  readonly f1: number;
  readonly precision: number;
  readonly recall: number;
  /** Share of the other classes' texts flagged. */
  readonly falsePositiveRate: number;
}

export interface ThresholdChoice extends ThresholdPoint {
  /** Validation F1 of the positive class at 0.5. */
  readonly f1AtHalf: number;
  /** The false-positive budget the choice was made under. */
  readonly maxFalsePositiveRate: number;
  /** Whether the chosen threshold meets the budget (false: no candidate did). */
  readonly withinBudget: boolean;
  /** Every candidate on the validation set, for the report (high to low thresholds as given). */
  readonly scanned: readonly ThresholdPoint[];
}

/** Default candidates: above 0.5 too, since a budget of 1% may need a stricter filter than the argmax. */
export const DEFAULT_THRESHOLD_CANDIDATES: readonly number[] = Object.freeze([
  0.99, 0.98, 0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.15, 0.1, 0.07, 0.05, 0.03, 0.02, 0.01,
]);

/** Default false-positive budget: 1% of ham flagged. */
export const DEFAULT_MAX_FALSE_POSITIVE_RATE = 0.01;

/**
 * The operating point of a filter on `validation`: among candidate thresholds whose
 * false-positive rate stays within `maxFalsePositiveRate`, the one with the best F1 (or,
 * with `maxF1Loss`, the lowest within that much of the F1 at 0.5). Scores the set once.
 *
 * @throws UsageError `E_DECISION_THRESHOLD` for an empty validation set, a class the model
 *   does not have, a negative `maxF1Loss`, a budget outside [0, 1] or a candidate outside (0, 1).
 * @example
 * const { threshold, falsePositiveRate } = await chooseDecisionThreshold(filter, splits.validation, { maxFalsePositiveRate: 0.01 });
 */
export async function chooseDecisionThreshold(
  model: TextClassifier,
  validation: TextDataset,
  options: ChooseThresholdOptions = {},
): Promise<ThresholdChoice> {
  const c = options.positiveClass ?? model.classes.length - 1;
  checkClass(model.classes, c);
  const maxFpr = options.maxFalsePositiveRate ?? DEFAULT_MAX_FALSE_POSITIVE_RATE;
  const candidates = options.candidates ?? DEFAULT_THRESHOLD_CANDIDATES;
  if (validation.texts.length === 0) {
    throw new UsageError(
      'E_DECISION_THRESHOLD',
      `Decision threshold: the validation set '${validation.name}' is empty; pass labelled texts to choose a threshold on.`,
    );
  }
  if (options.maxF1Loss !== undefined && !(options.maxF1Loss >= 0))
    throw new UsageError('E_DECISION_THRESHOLD', `Decision threshold: maxF1Loss must be >= 0, got ${options.maxF1Loss}.`, {
      details: { maxF1Loss: options.maxF1Loss },
    });
  if (!(maxFpr >= 0 && maxFpr <= 1))
    throw new UsageError(
      'E_DECISION_THRESHOLD',
      `Decision threshold: maxFalsePositiveRate must be a share in [0, 1] (0.01 flags at most 1% of ham), got ${maxFpr}.`,
      { details: { maxFalsePositiveRate: maxFpr } },
    );
  const bad = candidates.find((t) => !(t > 0 && t < 1));
  if (bad !== undefined || candidates.length === 0) {
    throw new UsageError(
      'E_DECISION_THRESHOLD',
      `Decision threshold: candidates must be probabilities strictly between 0 and 1, got ${bad ?? 'none'}.`,
      { details: { candidates } },
    );
  }
  const scores = (await predictInBatches(model, validation.texts, options.batchSize)).map((p) => p[c] as number);
  const at = (threshold: number): ThresholdPoint => {
    const predicted = scores.map((score) => (score >= threshold ? c : -1));
    return {
      threshold,
      ...precisionRecallF1(predicted, validation.labels, c),
      falsePositiveRate: falsePositiveRate(predicted, validation.labels, c),
    };
  };
  const half = at(0.5);
  const scanned = candidates.map(at);
  const feasible = scanned.filter((s) => withinRate(s, maxFpr));
  const lower = (a: ThresholdPoint, b: ThresholdPoint): ThresholdPoint => (b.threshold < a.threshold ? b : a);
  let best: ThresholdPoint;
  if (feasible.length > 0 && options.maxF1Loss !== undefined) {
    const tolerance = options.maxF1Loss;
    const within = feasible.filter((s) => s.f1 >= half.f1 - tolerance);
    best = within.length > 0 ? within.reduce(lower) : feasible.reduce((a, b) => (b.f1 > a.f1 ? b : a));
  } else {
    best = bestUnderBudget(scanned, maxFpr);
  }
  return {
    ...best,
    f1AtHalf: half.f1,
    maxFalsePositiveRate: maxFpr,
    withinBudget: withinRate(best, maxFpr),
    scanned,
  };
}

/** A tiny tolerance so a rate of exactly the budget (e.g. 1 of 100) counts as within it. */
function withinRate(point: ThresholdPoint, maxFpr: number): boolean {
  return point.falsePositiveRate <= maxFpr + 1e-12;
}

/**
 * The default choice among scanned thresholds (`chooseDecisionThreshold` without
 * `maxF1Loss`): the best F1 among those within the false-positive budget (the lowest
 * threshold of equals), or, when none is, the one flagging the least ham (the best F1 of
 * equals). Lets a report place several budgets' operating points from one scan.
 *
 * @throws UsageError `E_DECISION_THRESHOLD` when `scanned` is empty.
 * @example const at2 = bestUnderBudget(choice.scanned, 0.02);
 */
export function bestUnderBudget(scanned: readonly ThresholdPoint[], maxFalsePositiveRate: number): ThresholdPoint {
  if (scanned.length === 0) throw new UsageError('E_DECISION_THRESHOLD', 'Decision threshold: no scanned thresholds to choose from.');
  const feasible = scanned.filter((s) => withinRate(s, maxFalsePositiveRate));
  if (feasible.length === 0) {
    return scanned.reduce((a, b) =>
      b.falsePositiveRate < a.falsePositiveRate || (b.falsePositiveRate === a.falsePositiveRate && b.f1 > a.f1) ? b : a,
    );
  }
  return feasible.reduce((a, b) => (b.f1 > a.f1 || (b.f1 === a.f1 && b.threshold < a.threshold) ? b : a));
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

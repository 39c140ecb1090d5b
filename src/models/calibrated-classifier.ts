/**
 * Calibrated confidence for a model: a Classifier wrapper that divides logits by a fitted
 * temperature, the temperature's place in the saved model, and abstention on low
 * calibrated confidence ("selective classification": answer only when confident, report
 * coverage and the accuracy on what was answered — Geifman & El-Yaniv, "Selective
 * Classification for Deep Neural Networks", NeurIPS 2017).
 *
 * Dividing by T > 0 keeps the argmax, so accuracy and attack success are unchanged; the
 * wrapper stays differentiable, so attacks can target the calibrated model directly.
 */
import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../core/errors.js';
import { batchTensor, ranges } from '../core/tensors.js';
import type { Dataset } from '../core/types.js';
import { assertBatchShape, type Classifier } from './classifier.js';
import { loadClassifierModel, saveClassifierModel, type StoredClassifier } from './store.js';

function checkTemperature(temperature: number): number {
  if (typeof temperature !== 'number' || !Number.isFinite(temperature) || temperature <= 0) {
    throw new UsageError(
      'E_TEMPERATURE_OPTION',
      `Temperature must be a finite number > 0 (fit one with fitTemperature); got ${String(temperature)}.`,
      { details: { value: temperature } },
    );
  }
  return temperature;
}

/** A Classifier whose logits are the base model's divided by a temperature. Owns nothing. */
export class CalibratedClassifier implements Classifier {
  readonly id: string;
  readonly inputShape: readonly number[];
  readonly numClasses: number;
  readonly bounds: Classifier['bounds'];
  readonly differentiable: boolean;
  readonly temperature: number;

  /** @throws UsageError `E_TEMPERATURE_OPTION` for T <= 0 or not finite. */
  constructor(
    readonly base: Classifier,
    temperature: number,
  ) {
    this.temperature = checkTemperature(temperature);
    this.id = `${base.id}@T=${Number(temperature.toPrecision(4))}`;
    this.inputShape = base.inputShape;
    this.numClasses = base.numClasses;
    this.bounds = base.bounds;
    this.differentiable = base.differentiable;
  }

  logits(x: tf.Tensor): tf.Tensor2D {
    return tf.tidy(() => tf.div(this.base.logits(x), this.temperature));
  }
}

/**
 * Stores a fitted temperature in a saved model's Rampart metadata (`metadata.rampart.temperature`),
 * rewriting the model directory atomically.
 *
 * @throws UsageError `E_TEMPERATURE_OPTION` for T <= 0; DataError from loading or saving the model.
 * @example await saveTemperature('runs/example/model', report.fit.temperature);
 */
export async function saveTemperature(dir: string, temperature: number): Promise<void> {
  checkTemperature(temperature);
  const stored = await loadClassifierModel(dir);
  try {
    await saveClassifierModel(stored.model, dir, { ...stored.info, temperature });
  } finally {
    stored.model.dispose();
  }
}

/**
 * Loads a saved model with its calibrated wrapper (T = 1 when none was saved). The caller
 * disposes `model`.
 *
 * @throws DataError as for loadClassifierModel.
 * @example const { calibrated } = await loadCalibratedClassifier('runs/example/model');
 */
export async function loadCalibratedClassifier(dir: string): Promise<StoredClassifier & { calibrated: CalibratedClassifier }> {
  const stored = await loadClassifierModel(dir);
  return { ...stored, calibrated: new CalibratedClassifier(stored.classifier, stored.info.temperature ?? 1) };
}

export interface AbstentionOptions {
  /** Answer only when the top-class probability is at least this. */
  threshold: number;
}

export interface AbstentionResult {
  /** The class, or null where the model abstains. */
  predictions: (number | null)[];
  /** Top-class probability of each example (of the model as given: wrap it to calibrate). */
  confidences: number[];
}

function checkThreshold(threshold: number): void {
  // Above 1 is allowed and means "always abstain": that is what an infeasible risk target yields.
  if (typeof threshold !== 'number' || !(threshold >= 0 && Number.isFinite(threshold))) {
    throw new UsageError(
      'E_ABSTENTION_OPTION',
      `Abstention threshold must be a finite number >= 0 (a probability; above 1 abstains on everything); got ${String(threshold)}.`,
      { details: { value: threshold } },
    );
  }
}

async function topClass(model: Classifier, x: tf.Tensor): Promise<{ classes: Int32Array; confidences: Float32Array }> {
  const [classes, confidences] = tf.tidy(() => {
    const probabilities = tf.softmax(model.logits(x));
    return [tf.argMax(probabilities, 1), tf.max(probabilities, 1)];
  });
  try {
    return { classes: (await classes.data()) as Int32Array, confidences: (await confidences.data()) as Float32Array };
  } finally {
    classes.dispose();
    confidences.dispose();
  }
}

/**
 * Predicts a class per example, or abstains (null) where the top-class probability is
 * below the threshold. Pass a {@link CalibratedClassifier} so the threshold means a
 * calibrated probability.
 *
 * @throws UsageError `E_ABSTENTION_OPTION` for a negative or non-finite threshold; InputError `E_INPUT_SHAPE`.
 * @example const { predictions } = await predictWithAbstention(calibrated, x, { threshold: 0.9 });
 */
export async function predictWithAbstention(model: Classifier, x: tf.Tensor, options: AbstentionOptions): Promise<AbstentionResult> {
  checkThreshold(options.threshold);
  assertBatchShape(model, x.shape);
  const { classes, confidences } = await topClass(model, x);
  return {
    predictions: Array.from(classes, (c, i) => ((confidences[i] as number) >= options.threshold ? c : null)),
    confidences: Array.from(confidences),
  };
}

export interface SelectiveMetrics {
  threshold: number;
  count: number;
  /** Examples answered. */
  answered: number;
  /** answered / count. */
  coverage: number;
  abstentionRate: number;
  /** Accuracy on the answered examples (1 when none answered: no answer is wrong). */
  selectiveAccuracy: number;
  /** 1 - selectiveAccuracy. */
  selectiveRisk: number;
  /** Accuracy if the model answered everything. */
  fullAccuracy: number;
}

/**
 * Coverage and selective accuracy of the rule "answer when confidence >= threshold".
 *
 * @throws UsageError `E_ABSTENTION_OPTION` for a bad threshold or arrays of different lengths.
 */
export function selectiveMetrics(confidences: ArrayLike<number>, correct: ArrayLike<number>, threshold: number): SelectiveMetrics {
  checkThreshold(threshold);
  if (confidences.length !== correct.length) {
    throw new UsageError(
      'E_ABSTENTION_OPTION',
      `Got ${confidences.length} confidences but ${correct.length} correctness flags; give one of each per example.`,
    );
  }
  const count = confidences.length;
  let answered = 0;
  let right = 0;
  let allRight = 0;
  for (let i = 0; i < count; i++) {
    allRight += correct[i] ? 1 : 0;
    if ((confidences[i] as number) >= threshold) {
      answered++;
      right += correct[i] ? 1 : 0;
    }
  }
  const selectiveAccuracy = answered === 0 ? 1 : right / answered;
  return {
    threshold,
    count,
    answered,
    coverage: count === 0 ? 0 : answered / count,
    abstentionRate: count === 0 ? 0 : 1 - answered / count,
    selectiveAccuracy,
    selectiveRisk: 1 - selectiveAccuracy,
    fullAccuracy: count === 0 ? 0 : allRight / count,
  };
}

export type AbstentionTarget = { coverage: number } | { risk: number };

export interface ThresholdChoice {
  threshold: number;
  /** False when no threshold meets a risk target (the threshold then abstains on everything). */
  feasible: boolean;
  /** Metrics of the chosen threshold on the data it was chosen on. */
  metrics: SelectiveMetrics;
}

/** The smallest double greater than x (for "above every confidence seen"). */
function nextUp(x: number): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  view.setBigInt64(0, view.getBigInt64(0) + (x >= 0 ? 1n : -1n));
  return x === 0 ? Number.MIN_VALUE : view.getFloat64(0);
}

/**
 * Chooses an abstention threshold on validation data: for `{ coverage }`, the highest
 * threshold that still answers at least that fraction; for `{ risk }`, the lowest threshold
 * (largest coverage) whose selective error on the validation data is at most `risk`.
 * Apply it to test data and report those metrics; the validation numbers are optimistic.
 *
 * @throws UsageError `E_ABSTENTION_OPTION` for a target outside [0, 1] or empty data.
 * @example const { threshold } = chooseAbstentionThreshold(conf, correct, { coverage: 0.9 });
 */
export function chooseAbstentionThreshold(
  confidences: ArrayLike<number>,
  correct: ArrayLike<number>,
  target: AbstentionTarget,
): ThresholdChoice {
  const value = 'coverage' in target ? target.coverage : target.risk;
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
    throw new UsageError('E_ABSTENTION_OPTION', `An abstention target (coverage or risk) must be in [0, 1]; got ${String(value)}.`, {
      details: { target },
    });
  }
  const count = confidences.length;
  if (count === 0 || count !== correct.length) {
    throw new UsageError(
      'E_ABSTENTION_OPTION',
      `Choosing a threshold needs one confidence and one correctness flag per validation example; got ${count} and ${correct.length}.`,
    );
  }
  const order = Array.from({ length: count }, (_, i) => i).sort((a, b) => (confidences[b] as number) - (confidences[a] as number));
  const conf = (k: number) => confidences[order[k] as number] as number;
  const everything = nextUp(conf(0));
  if ('coverage' in target) {
    const keep = Math.ceil(target.coverage * count - 1e-9);
    const threshold = keep === 0 ? everything : conf(keep - 1);
    return { threshold, feasible: true, metrics: selectiveMetrics(confidences, correct, threshold) };
  }
  // Scan answered sets from most to least confident; only ends of runs of equal confidence are reachable thresholds.
  let errors = 0;
  let best = -1;
  for (let k = 0; k < count; k++) {
    errors += correct[order[k] as number] ? 0 : 1;
    const endOfTie = k === count - 1 || conf(k + 1) < conf(k);
    if (endOfTie && errors / (k + 1) <= target.risk) best = k;
  }
  const threshold = best < 0 ? everything : conf(best);
  return { threshold, feasible: best >= 0, metrics: selectiveMetrics(confidences, correct, threshold) };
}

export interface AbstentionReportOptions {
  model: Classifier;
  validation: Dataset;
  test: Dataset;
  target: AbstentionTarget;
  batchSize?: number;
}

export interface AbstentionReport {
  kind: 'rampart.abstention-report';
  model: { id: string };
  target: AbstentionTarget;
  choice: { threshold: number; feasible: boolean };
  validation: SelectiveMetrics;
  test: SelectiveMetrics;
}

async function confidencesOn(
  model: Classifier,
  data: Dataset,
  batchSize: number,
): Promise<{ confidences: Float32Array; correct: Uint8Array }> {
  assertBatchShape(model, [data.count, ...data.shape], `dataset '${data.name}'`);
  const confidences = new Float32Array(data.count);
  const correct = new Uint8Array(data.count);
  for (const [start, end] of ranges(data.count, batchSize)) {
    const x = batchTensor(data, start, end);
    try {
      const top = await topClass(model, x);
      confidences.set(top.confidences, start);
      top.classes.forEach((c, k) => {
        correct[start + k] = c === data.y[start + k] ? 1 : 0;
      });
    } finally {
      x.dispose();
    }
  }
  return { confidences, correct };
}

/**
 * Chooses a confidence threshold on validation data for a target coverage or risk, then
 * reports coverage and selective accuracy on test data.
 *
 * @throws UsageError `E_ABSTENTION_OPTION` for a bad target; InputError when the data do not fit.
 * @example const report = await abstentionReport({ model: calibrated, validation, test, target: { risk: 0.02 } });
 */
export async function abstentionReport(options: AbstentionReportOptions): Promise<AbstentionReport> {
  const batchSize = options.batchSize ?? 256;
  const v = await confidencesOn(options.model, options.validation, batchSize);
  const choice = chooseAbstentionThreshold(v.confidences, v.correct, options.target);
  const t = await confidencesOn(options.model, options.test, batchSize);
  return {
    kind: 'rampart.abstention-report',
    model: { id: options.model.id },
    target: options.target,
    choice: { threshold: choice.threshold, feasible: choice.feasible },
    validation: choice.metrics,
    test: selectiveMetrics(t.confidences, t.correct, choice.threshold),
  };
}

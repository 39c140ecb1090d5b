/** Clean accuracy and F1 of a text classifier on labelled text. */
import type { TextDataset } from '../../data/text/text-dataset.js';
import type { TextClassifier } from './text-classifier.js';

export interface TextClassifierMetrics {
  readonly count: number;
  readonly accuracy: number;
  /** F1 of the positive class. */
  readonly f1: number;
  readonly precision: number;
  readonly recall: number;
  /**
   * Share of the texts not of the positive class (ham) predicted as it: the false-positive
   * rate spam teams budget (0 when there are none).
   */
  readonly falsePositiveRate: number;
  /** Predicted class per text. */
  readonly predictions: Int32Array;
}

/**
 * Scores `model` on `data`: accuracy, and precision/recall/F1 of `positiveClass`
 * (default: the last class, e.g. `spam` in `['ham', 'spam']`).
 *
 * @throws Whatever the model's `predictProba` throws.
 * @example
 * const { accuracy, f1 } = await evaluateTextClassifier(classifier, test);
 */
export async function evaluateTextClassifier(
  model: TextClassifier,
  data: TextDataset,
  options: { positiveClass?: number; batchSize?: number } = {},
): Promise<TextClassifierMetrics> {
  const positive = options.positiveClass ?? data.classes.length - 1;
  const rows = await predictInBatches(model, data.texts, options.batchSize);
  const predictions = Int32Array.from(rows, (p) => {
    let best = 0;
    for (let c = 1; c < p.length; c++) if ((p[c] as number) > (p[best] as number)) best = c;
    return best;
  });
  let correct = 0;
  predictions.forEach((pred, i) => {
    if (pred === data.labels[i]) correct++;
  });
  return {
    count: data.texts.length,
    accuracy: data.texts.length === 0 ? 0 : correct / data.texts.length,
    ...precisionRecallF1(predictions, data.labels, positive),
    falsePositiveRate: falsePositiveRate(predictions, data.labels, positive),
    predictions,
  };
}

/** Class probabilities of `texts`, asked `batchSize` (default 256) texts at a time. */
export async function predictInBatches(model: TextClassifier, texts: readonly string[], batchSize = 256): Promise<Float32Array[]> {
  const rows: Float32Array[] = [];
  for (let start = 0; start < texts.length; start += batchSize)
    rows.push(...(await model.predictProba(texts.slice(start, start + batchSize))));
  return rows;
}

/** Precision, recall and F1 of `positive` for predicted against true labels (0 where undefined). */
export function precisionRecallF1(
  predictions: ArrayLike<number>,
  labels: ArrayLike<number>,
  positive: number,
): { precision: number; recall: number; f1: number } {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < predictions.length; i++) {
    const predicted = predictions[i] === positive;
    const actual = labels[i] === positive;
    if (predicted && actual) tp++;
    else if (predicted) fp++;
    else if (actual) fn++;
  }
  const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
  return { precision, recall, f1: precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall) };
}

/** Share of the texts not labelled `positive` that are predicted `positive` (0 when there are none). */
export function falsePositiveRate(predictions: ArrayLike<number>, labels: ArrayLike<number>, positive: number): number {
  let negatives = 0;
  let flagged = 0;
  for (let i = 0; i < predictions.length; i++) {
    if (labels[i] === positive) continue;
    negatives++;
    if (predictions[i] === positive) flagged++;
  }
  return negatives === 0 ? 0 : flagged / negatives;
}

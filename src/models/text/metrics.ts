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
export async function evaluateTextClassifier(model: TextClassifier, data: TextDataset, options: { positiveClass?: number; batchSize?: number } = {}): Promise<TextClassifierMetrics> {
  const positive = options.positiveClass ?? data.classes.length - 1;
  const batchSize = options.batchSize ?? 256;
  const predictions = new Int32Array(data.texts.length);
  for (let start = 0; start < data.texts.length; start += batchSize) {
    const rows = await model.predictProba(data.texts.slice(start, start + batchSize));
    rows.forEach((p, k) => {
      let best = 0;
      for (let c = 1; c < p.length; c++) if ((p[c] as number) > (p[best] as number)) best = c;
      predictions[start + k] = best;
    });
  }
  let correct = 0;
  let tp = 0;
  let fp = 0;
  let fn = 0;
  predictions.forEach((pred, i) => {
    const y = data.labels[i];
    if (pred === y) correct++;
    if (pred === positive && y === positive) tp++;
    else if (pred === positive) fp++;
    else if (y === positive) fn++;
  });
  const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
  return {
    count: data.texts.length,
    accuracy: data.texts.length === 0 ? 0 : correct / data.texts.length,
    f1: precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall),
    precision,
    recall,
    predictions,
  };
}

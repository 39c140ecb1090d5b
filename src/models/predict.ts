/** Batched inference over a dataset, the one loop evaluation and training share. */
import * as tf from '@tensorflow/tfjs';
import type { Dataset } from '../core/types.js';
import { batchTensor, ranges } from '../core/tensors.js';
import type { Classifier } from './classifier.js';
import { assertBatchShape } from './classifier.js';

/**
 * Predicted classes for every example of a dataset.
 *
 * @throws InputError `E_INPUT_SHAPE` when the data does not fit the model.
 * @example const predicted = await predictClasses(model, testSet);
 */
export async function predictClasses(model: Classifier, ds: Dataset, batchSize = 512, passes = 1): Promise<Int32Array> {
  assertBatchShape(model, [ds.count, ...ds.shape], `dataset '${ds.name}'`);
  const out = new Int32Array(ds.count);
  for (const [start, end] of ranges(ds.count, batchSize)) {
    const predicted = tf.tidy(() => meanPassClasses(model, batchTensor(ds, start, end), passes));
    out.set(await predicted.data(), start);
    predicted.dispose();
  }
  return out;
}

/**
 * The class of each row by the mean of `passes` forward passes' logits: a randomised model
 * (one that draws noise on every pass) is judged on its average answer; 1 pass otherwise.
 */
export function meanPassClasses(model: Classifier, x: tf.Tensor, passes = 1): tf.Tensor1D {
  return tf.tidy(() => {
    let sum = model.logits(x);
    for (let p = 1; p < passes; p++) sum = tf.add(sum, model.logits(x));
    return tf.argMax(sum, 1) as tf.Tensor1D;
  });
}

/** Fraction of examples whose prediction equals the label. */
export function accuracyOf(predicted: Int32Array, labels: Int32Array): number {
  if (predicted.length === 0) return 0;
  let correct = 0;
  for (let i = 0; i < predicted.length; i++) if (predicted[i] === labels[i]) correct++;
  return correct / predicted.length;
}

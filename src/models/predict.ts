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
export async function predictClasses(model: Classifier, ds: Dataset, batchSize = 512): Promise<Int32Array> {
  assertBatchShape(model, [ds.count, ...ds.shape], `dataset '${ds.name}'`);
  const out = new Int32Array(ds.count);
  for (const [start, end] of ranges(ds.count, batchSize)) {
    const predicted = tf.tidy(() => tf.argMax(model.logits(batchTensor(ds, start, end)), 1));
    out.set(await predicted.data(), start);
    predicted.dispose();
  }
  return out;
}

/** Fraction of examples whose prediction equals the label. */
export function accuracyOf(predicted: Int32Array, labels: Int32Array): number {
  if (predicted.length === 0) return 0;
  let correct = 0;
  for (let i = 0; i < predicted.length; i++) if (predicted[i] === labels[i]) correct++;
  return correct / predicted.length;
}

/**
 * Randomised models: a defence that draws noise on every forward pass (random resizing,
 * noise injection, dropout at test time) answers differently for the same input. Attacked
 * with one pass per gradient, such a model looks robust because its gradients are noisy,
 * not because it is: it must be evaluated with expectation over transformation (EOT) and its
 * predictions judged on the average of several passes.
 */
import * as tf from '@tensorflow/tfjs';
import type { Dataset } from '../core/types.js';
import { assertBatchShape, type Classifier } from '../models/classifier.js';
import { scoresOf } from '../models/predict.js';

/**
 * Whether `model` gives different logits for the same inputs on two passes (the first
 * `rows` examples of `data`).
 *
 * @throws InputError `E_INPUT_SHAPE` when the data does not fit the model.
 *
 * @example if (await isStochastic(model, test)) suite = suiteDefinition('standard', 'rand');
 */
export async function isStochastic(model: Classifier, data: Dataset, rows = 16): Promise<boolean> {
  const n = Math.min(rows, data.count);
  if (n === 0) return false;
  // Data that does not fit the model is the caller's error, named as every evaluation names it.
  assertBatchShape(model, [data.count, ...data.shape], `dataset '${data.name}'`);
  const size = data.x.length / data.count;
  const x = tf.tensor(data.x.subarray(0, n * size), [n, ...data.shape], 'float32');
  try {
    // Through scoresOf, so a black-box target (queried twice) is probed like a TF.js model.
    const va = await scoresOf(model, x);
    const vb = await scoresOf(model, x);
    return va.some((v, i) => v !== vb[i]);
  } finally {
    x.dispose();
  }
}

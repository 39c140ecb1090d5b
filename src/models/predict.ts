/**
 * Batched inference over a dataset, the one loop evaluation and training share. TF.js models
 * run a forward pass; black-box targets (onnxruntime, HTTP) answer through `queryScores`, one
 * counted query per row and pass, so evaluation reaches them through the same functions.
 */
import * as tf from '@tensorflow/tfjs';
import type { Dataset } from '../core/types.js';
import { sizeOf } from '../core/types.js';
import { batchTensor, ranges } from '../core/tensors.js';
import type { Classifier } from './classifier.js';
import { assertBatchShape } from './classifier.js';

/**
 * Predicted classes for every example of a dataset.
 *
 * @throws InputError `E_INPUT_SHAPE` when the data does not fit the model; whatever a black-box target's `queryScores` throws.
 * @example const predicted = await predictClasses(model, testSet);
 */
export async function predictClasses(model: Classifier, ds: Dataset, batchSize = 512, passes = 1): Promise<Int32Array> {
  assertBatchShape(model, [ds.count, ...ds.shape], `dataset '${ds.name}'`);
  const out = new Int32Array(ds.count);
  const rowSize = sizeOf(ds.shape);
  for (const [start, end] of ranges(ds.count, batchSize)) {
    if (model.queryScores) {
      out.set(await queriedClasses(model, ds.x.subarray(start * rowSize, end * rowSize), end - start, passes), start);
      continue;
    }
    const predicted = tf.tidy(() => meanPassClasses(model, batchTensor(ds, start, end), passes));
    out.set(await predicted.data(), start);
    predicted.dispose();
  }
  return out;
}

/**
 * Predicted classes of a batch `[batch, ...inputShape]` for any target: the mean of `passes`
 * forward passes (TF.js, as {@link meanPassClasses}) or of `passes` score queries (black box).
 * Does not dispose `x`.
 *
 * @throws whatever a black-box target's `queryScores` throws (timeouts, budgets, bad answers).
 * @example const classes = await predictBatch(model, adversarial);
 */
export async function predictBatch(model: Classifier, x: tf.Tensor, passes = 1): Promise<Int32Array> {
  if (model.queryScores) return queriedClasses(model, (await x.data()) as Float32Array, x.shape[0] as number, passes);
  const predicted = meanPassClasses(model, x, passes);
  const classes = Int32Array.from(await predicted.data());
  predicted.dispose();
  return classes;
}

/**
 * Scores of a batch `[batch, ...inputShape]` for any target, `[batch * numClasses]`: the
 * logits of one TF.js forward pass, or one score query per row of a black-box target.
 * Does not dispose `x`.
 *
 * @throws whatever a black-box target's `queryScores` throws.
 * @example const scores = await scoresOf(model, x);
 */
export async function scoresOf(model: Classifier, x: tf.Tensor): Promise<Float32Array> {
  if (model.queryScores) return model.queryScores((await x.data()) as Float32Array, x.shape[0] as number);
  const z = tf.tidy(() => model.logits(x));
  try {
    return (await z.data()) as Float32Array;
  } finally {
    z.dispose();
  }
}

/** Classes by the summed scores of `passes` queries of the rows (ties to the first index, as tf.argMax). */
async function queriedClasses(model: Classifier, rows: Float32Array, count: number, passes: number): Promise<Int32Array> {
  const query = model.queryScores as NonNullable<Classifier['queryScores']>;
  const C = model.numClasses;
  const first = await query.call(model, rows, count);
  const sum = passes > 1 ? Float32Array.from(first) : first;
  for (let p = 1; p < passes; p++) {
    const next = await query.call(model, rows, count);
    for (let k = 0; k < sum.length; k++) sum[k] = (sum[k] as number) + (next[k] as number);
  }
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    let best = 0;
    for (let j = 1; j < C; j++) if ((sum[i * C + j] as number) > (sum[i * C + best] as number)) best = j;
    out[i] = best;
  }
  return out;
}

/**
 * The class of each row by the mean of `passes` forward passes' logits: a randomised model
 * (one that draws noise on every pass) is judged on its average answer; 1 pass otherwise.
 * TF.js targets only (synchronous); use {@link predictBatch} for any target.
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

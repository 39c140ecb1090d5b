/**
 * Batched forward passes on plain row-major arrays, the goal test on a prediction and
 * per-row distances: what attacks that keep their state in JavaScript (query-based and
 * minimum-norm searches) share. Forward passes use only `model.logits`, so they work on
 * black-box models too.
 */
import * as tf from '@tensorflow/tfjs';
import { sizeOf } from '../../core/types.js';
import type { Classifier } from '../../models/classifier.js';
import type { Norm } from '../../threats/norms.js';

/** Rows per forward pass of the query helpers: bounds memory for large sample batches. */
const CHUNK_ROWS = 512;

/**
 * Logits `[rows * numClasses]` of row-major inputs, in chunks. Uses only `model.logits`,
 * so it works on non-differentiable (black-box) models.
 */
export async function logitsOf(model: Classifier, rows: Float32Array, count: number): Promise<Float32Array> {
  if (model.queryScores) return model.queryScores(rows, count);
  const rowSize = sizeOf(model.inputShape);
  const out = new Float32Array(count * model.numClasses);
  for (let start = 0; start < count; start += CHUNK_ROWS) {
    const end = Math.min(count, start + CHUNK_ROWS);
    const chunk = rows.subarray(start * rowSize, end * rowSize);
    const z = tf.tidy(() => model.logits(tf.tensor(chunk, [end - start, ...model.inputShape], 'float32')));
    out.set(await z.data(), start * model.numClasses);
    z.dispose();
  }
  return out;
}

/** The predicted class of each row: the first index of the largest logit, as tf.argMax. */
export function argmaxRows(logits: Float32Array, count: number, numClasses: number): Int32Array {
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    let best = 0;
    for (let j = 1; j < numClasses; j++) if ((logits[i * numClasses + j] as number) > (logits[i * numClasses + best] as number)) best = j;
    out[i] = best;
  }
  return out;
}

/** Predicted classes of row-major inputs (labels only: what a decision-based attacker sees). */
export async function predictRows(model: Classifier, rows: Float32Array, count: number): Promise<Int32Array> {
  return argmaxRows(await logitsOf(model, rows, count), count, model.numClasses);
}

/** Whether a prediction meets the goal for a class (the label, or the target when targeted). */
export function goalMet(prediction: number, goalClass: number, targeted: boolean): boolean {
  return targeted ? prediction === goalClass : prediction !== goalClass;
}

/** Per-example size of `a - b` in a norm, for row-major arrays. */
export function rowDistances(norm: Norm, a: Float32Array, b: Float32Array, count: number): Float32Array {
  const rowSize = a.length / Math.max(1, count);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    let d = 0;
    for (let k = i * rowSize; k < (i + 1) * rowSize; k++) {
      const v = Math.abs((a[k] as number) - (b[k] as number));
      d = norm.id === 'linf' ? Math.max(d, v) : d + v * v;
    }
    out[i] = norm.id === 'linf' ? d : Math.sqrt(d);
  }
  return out;
}

/**
 * Per example, the classes other than its label ordered by decreasing logit (ties by
 * index): the candidate boundaries and targets of DeepFool, FAB-T and APGD-T.
 */
export function rankWrongClasses(logits: Float32Array, labels: Int32Array, numClasses: number): Int32Array[] {
  return Array.from(labels, (label, i) => {
    const order = Array.from({ length: numClasses }, (_, j) => j).filter((j) => j !== label);
    order.sort((a, b) => (logits[i * numClasses + b] as number) - (logits[i * numClasses + a] as number) || a - b);
    return Int32Array.from(order);
  });
}

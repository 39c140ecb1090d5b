/**
 * What attacks outside the shared gradient loop have in common: batched forward passes on
 * plain arrays (query-based attacks keep their state in JavaScript), the goal test on a
 * prediction, and the way a minimum-norm attack answers to a threat model. A minimum-norm
 * attack searches for the smallest perturbation with no epsilon limit; against a threat it
 * returns that point when it lies within epsilon, otherwise its projection onto the ball
 * (clipped to the bounds) with success re-checked by a prediction, so every attack keeps
 * the same contract (inside the ball, honest success flags) and still reports the raw
 * minimum norms.
 */
import * as tf from '@tensorflow/tfjs';
import { GradientError } from '../../core/errors.js';
import { sizeOf } from '../../core/types.js';
import type { Classifier } from '../../models/classifier.js';
import type { Norm } from '../../threats/norms.js';
import type { ThreatModel } from '../../threats/threat-model.js';
import type { AttackResult } from '../types.js';

/** Rows per forward pass of the query helpers: bounds memory for large sample batches. */
const CHUNK_ROWS = 512;

/**
 * Logits `[rows * numClasses]` of row-major inputs, in chunks. Uses only `model.logits`,
 * so it works on non-differentiable (black-box) models.
 */
export async function logitsOf(model: Classifier, rows: Float32Array, count: number): Promise<Float32Array> {
  const rowSize = sizeOf(model.inputShape);
  const out = new Float32Array(count * model.numClasses);
  for (let start = 0; start < count; start += CHUNK_ROWS) {
    const end = Math.min(count, start + CHUNK_ROWS);
    const z = tf.tidy(() => model.logits(tf.tensor(rows.subarray(start * rowSize, end * rowSize), [end - start, ...model.inputShape], 'float32')));
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

export interface MinNormOutcome {
  /** Row-major best points found (the clean input where nothing was found). */
  points: Float32Array;
  /** Size of each point's perturbation in the threat's norm; `Infinity` where nothing was found. */
  minNorm: Float32Array;
  queries: Int32Array;
}

/**
 * Turns a minimum-norm search into an attack result against `threat`: each point is
 * projected onto the epsilon-ball and the bounds (a no-op when it already lies within),
 * and success is decided by one more prediction at the returned point (counted as a query).
 */
export async function finishMinNorm(model: Classifier, x: tf.Tensor, outcome: MinNormOutcome, threat: ThreatModel, norm: Norm, goalClasses: Int32Array, targeted: boolean): Promise<AttackResult> {
  const { epsilon, bounds } = threat;
  const projected = tf.tidy(() => {
    const points = tf.tensor(outcome.points, x.shape, 'float32');
    return tf.clipByValue(tf.add(x, norm.project(tf.sub(points, x), epsilon)), bounds.min, bounds.max);
  });
  // A point already within epsilon is kept bit for bit: x + (p - x) can differ from p in the
  // last float bit, and points found on the decision boundary flip on less than that.
  const rows = (await projected.data()) as Float32Array;
  projected.dispose();
  const clean = (await x.data()) as Float32Array;
  const inside = rowDistances(norm, outcome.points, clean, goalClasses.length);
  const rowSize = rows.length / Math.max(1, goalClasses.length);
  for (let i = 0; i < goalClasses.length; i++) {
    if ((inside[i] as number) <= epsilon) rows.set(outcome.points.subarray(i * rowSize, (i + 1) * rowSize), i * rowSize);
  }
  const adversarial = tf.tensor(rows, x.shape, 'float32');
  const [predicted, distance] = tf.tidy(() => [tf.argMax(model.logits(adversarial), 1), norm.distance(tf.sub(adversarial, x))]) as [tf.Tensor, tf.Tensor];
  const p = await predicted.data();
  const perturbation = (await distance.data()) as Float32Array;
  predicted.dispose();
  distance.dispose();
  const n = goalClasses.length;
  const success = new Uint8Array(n);
  const queries = Int32Array.from(outcome.queries, (q) => q + 1);
  for (let i = 0; i < n; i++) success[i] = goalMet(p[i] as number, goalClasses[i] as number, targeted) ? 1 : 0;
  return { adversarial, success, perturbation, queries, minNorm: outcome.minNorm };
}

export interface BoundaryNormals {
  /** `f = z_candidate − z_origin` per (candidate, row), candidate-major: index `c * rows + k`. */
  f: Float32Array;
  /** `∇f` per (candidate, row), row-major inputs, same order as `f`. */
  gradient: Float32Array;
}

/**
 * The linearised decision boundaries between each row's origin class and `K` candidate
 * classes: the logit differences and their input gradients, from one forward/backward
 * pass over `K` stacked copies of the rows.
 *
 * @throws GradientError `E_GRADIENT_NONFINITE` for NaN or infinite gradients.
 */
export async function boundaryNormals(model: Classifier, rows: Float32Array, count: number, candidates: Int32Array, origins: Int32Array, K: number): Promise<BoundaryNormals> {
  const C = model.numClasses;
  const [g, f, finite] = tf.tidy(() => {
    const xa = tf.tensor(rows, [count, ...model.inputShape], 'float32');
    const rep = K === 1 ? xa : tf.concat(new Array<tf.Tensor>(K).fill(xa), 0);
    const pick = tf.sub(tf.oneHot(tf.tensor1d(candidates, 'int32'), C), tf.oneHot(tf.tensor1d(origins, 'int32'), C)).toFloat();
    const diff = (input: tf.Tensor): tf.Tensor1D => tf.sum(tf.mul(model.logits(input), pick), 1) as tf.Tensor1D;
    const grad = tf.grad((input: tf.Tensor) => tf.sum(diff(input)))(rep);
    return [grad, diff(rep), tf.all(tf.isFinite(grad))];
  });
  const ok = (await finite.data())[0] === 1;
  const out = { f: (await f.data()) as Float32Array, gradient: (await g.data()) as Float32Array };
  for (const t of [g, f, finite]) t.dispose();
  if (!ok) throw new GradientError('E_GRADIENT_NONFINITE', `Model '${model.id}' produced NaN or infinite input gradients; check the model for log(0) or division by zero.`);
  return out;
}

/**
 * How a minimum-norm attack answers to a threat model. A minimum-norm attack searches for
 * the smallest perturbation with no epsilon limit; against a threat it returns that point
 * when it lies within epsilon, otherwise its projection onto the ball (clipped to the
 * bounds) with success re-checked by a prediction, so every attack keeps the same
 * contract (inside the ball, honest success flags) and still reports the raw minimum
 * norms. Also the linearised decision boundaries that DeepFool and FAB step to.
 */
import * as tf from '@tensorflow/tfjs';
import { GradientError } from '../../core/errors.js';
import type { Classifier } from '../../models/classifier.js';
import type { AttackContext, AttackOutcome } from '../wrapper.js';
import { goalMet, predictRows, rowDistances } from './rows.js';

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
export async function finishMinNorm(context: AttackContext, outcome: MinNormOutcome): Promise<AttackOutcome> {
  const { model, x, threat, norm, goalClasses, targeted } = context;
  const { epsilon, bounds } = threat;
  const projected = tf.tidy(() => {
    const points = tf.tensor(outcome.points, x.shape, 'float32');
    return tf.clipByValue(tf.add(x, norm.project(tf.sub(points, x), epsilon)), bounds.min, bounds.max);
  });
  // A point already within epsilon is kept bit for bit: x + (p - x) can differ from p in the
  // last float bit, and points found on the decision boundary flip on less than that.
  const rows = (await projected.data()) as Float32Array;
  projected.dispose();
  const { clean, n } = context;
  const inside = rowDistances(norm, outcome.points, clean, n);
  const rowSize = rows.length / Math.max(1, n);
  for (let i = 0; i < n; i++) {
    if ((inside[i] as number) <= epsilon) rows.set(outcome.points.subarray(i * rowSize, (i + 1) * rowSize), i * rowSize);
  }
  const adversarial = tf.tensor(rows, x.shape, 'float32');
  // A black-box target answers through queryScores only; a TF.js model keeps its one forward pass.
  let p: ArrayLike<number>;
  if (model.queryScores) {
    try {
      p = await predictRows(model, rows, n);
    } catch (error) {
      adversarial.dispose();
      throw error;
    }
  } else {
    const predicted = tf.tidy(() => tf.argMax(model.logits(adversarial), 1));
    p = await predicted.data();
    predicted.dispose();
  }
  const success = new Uint8Array(n);
  const queries = Int32Array.from(outcome.queries, (q) => q + 1);
  for (let i = 0; i < n; i++) success[i] = goalMet(p[i] as number, goalClasses[i] as number, targeted) ? 1 : 0;
  return { adversarial, success, queries, minNorm: outcome.minNorm };
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
export async function boundaryNormals(
  model: Classifier,
  rows: Float32Array,
  count: number,
  candidates: Int32Array,
  origins: Int32Array,
  K: number,
): Promise<BoundaryNormals> {
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
  if (!ok)
    throw new GradientError(
      'E_GRADIENT_NONFINITE',
      `Model '${model.id}' produced NaN or infinite input gradients; check the model for log(0) or division by zero.`,
    );
  return out;
}

/**
 * The primitives of projected steepest ascent, shared by the attack loop (which tracks the
 * best point per example) and by adversarial-training objectives (which want the final
 * iterate of a fixed number of steps, with no per-step reads back to JavaScript).
 */
import * as tf from '@tensorflow/tfjs';
import type { Norm } from '../../threats/norms.js';
import type { ThreatModel } from '../../threats/threat-model.js';
import type { Projection } from '../../threats/tabular/project.js';
import type { RowWindow } from '../types.js';

/**
 * Onto the ball and the bounds around `x`, or through `project` when the threat has its own
 * feasible set (tabular constraints).
 */
function toFeasible(x: tf.Tensor, delta: tf.Tensor, norm: Norm, threat: ThreatModel, project?: Projection): tf.Tensor {
  if (project) return project(x, tf.add(x, delta));
  return tf.clipByValue(tf.add(x, norm.project(delta, threat.epsilon)), threat.bounds.min, threat.bounds.max);
}

/**
 * The starting point: `x`, or a uniformly random point of the ball clipped to the bounds (or
 * projected). With `window`, `x` is rows of a larger batch: the draw is the whole batch's,
 * and these rows of it are kept.
 */
export function startingPoint(
  x: tf.Tensor,
  norm: Norm,
  threat: ThreatModel,
  randomStart: boolean,
  seed: number,
  project?: Projection,
  window?: RowWindow,
): tf.Tensor {
  const { epsilon } = threat;
  if (!(randomStart && epsilon > 0)) return tf.clone(x);
  return tf.tidy(() => {
    const n = x.shape[0] as number;
    const noise =
      window === undefined || (window.offset === 0 && window.of === n)
        ? norm.randomStart(x.shape, epsilon, seed)
        : tf.slice(norm.randomStart([window.of, ...x.shape.slice(1)], epsilon, seed), window.offset, n);
    return toFeasible(x, noise, norm, threat, project);
  });
}

/** One step of size `alpha` along the norm's steepest direction, projected to the ball and the bounds. */
export function ascentStep(
  x: tf.Tensor,
  current: tf.Tensor,
  gradient: tf.Tensor,
  norm: Norm,
  threat: ThreatModel,
  alpha: number,
  project?: Projection,
): tf.Tensor {
  return tf.tidy(() => {
    const delta = tf.add(tf.sub(current, x), tf.mul(alpha, norm.normalizeStep(gradient)));
    return toFeasible(x, delta, norm, threat, project);
  });
}

export interface PerturbOptions {
  /** Per-example objective to maximise, from the logits at the current point. */
  objective: (logits: tf.Tensor2D) => tf.Tensor1D;
  logits: (x: tf.Tensor) => tf.Tensor2D;
  norm: Norm;
  threat: ThreatModel;
  steps: number;
  stepSize: number;
  randomStart: boolean;
  seed: number;
  /** The feasible set's projection (tabular constraints); default the ball and the bounds. */
  project?: Projection;
}

/**
 * Runs `steps` ascent steps and returns the last iterate (the caller disposes it). Used
 * where speed matters more than per-example bookkeeping: generating training examples.
 */
export function perturb(x: tf.Tensor, options: PerturbOptions): tf.Tensor {
  const { norm, threat, steps, stepSize } = options;
  let current = startingPoint(x, norm, threat, options.randomStart, options.seed, options.project);
  const gradientOf = tf.grad((input: tf.Tensor) => tf.sum(options.objective(options.logits(input))));
  for (let step = 0; step < steps; step++) {
    const gradient = tf.tidy(() => gradientOf(current));
    const next = ascentStep(x, current, gradient, norm, threat, stepSize, options.project);
    gradient.dispose();
    current.dispose();
    current = next;
  }
  return current;
}

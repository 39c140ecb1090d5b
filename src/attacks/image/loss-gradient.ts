/**
 * One evaluation of a first-order attack's objective at the current point, shared by the
 * gradient-descent loop (FGSM, PGD) and APGD: the predictions and per-example losses read
 * back to JavaScript in one transfer, and the input gradient of the summed loss kept as a
 * tensor, checked to be finite. The same forward pass gives the step and the success
 * check. With `samples > 1` it is the expectation over transformation (EOT, Athalye et al.
 * 2018, "Synthesizing Robust Adversarial Examples", https://arxiv.org/abs/1707.07397):
 * logits, losses and gradients averaged over that many forward passes, so a randomised
 * model (random resizing, noise, dropout at test time) is attacked through its mean.
 */
import * as tf from '@tensorflow/tfjs';
import { GradientError } from '../../core/errors.js';
import type { Classifier } from '../../models/classifier.js';

/** Per-example objective to maximise, from the logits at the current point. */
export type AttackObjective = (logits: tf.Tensor2D) => tf.Tensor1D;

export interface Observation {
  /** Predicted class per example (of the mean logits under EOT). */
  predicted: Float32Array;
  /** Objective value per example. */
  loss: Float32Array;
  /** Input gradient of the summed objective, when asked for; the caller disposes it. */
  gradient?: tf.Tensor;
}

export interface ObserveOptions {
  /** Compute the input gradient too (not needed at the last point of a run). */
  gradient: boolean;
  /** Forward passes to average over (EOT); 1 for a deterministic model. */
  samples: number;
  /** Where in the attack this is, for the error message, e.g. `step 3`. */
  where: string;
}

interface Pass {
  logits: tf.Tensor2D;
  loss: tf.Tensor1D;
  gradient?: tf.Tensor;
}

function onePass(model: Classifier, point: tf.Tensor, objective: AttackObjective, withGradient: boolean): Pass {
  if (!withGradient) {
    return tf.tidy(() => {
      const logits = model.logits(point);
      return { logits, loss: objective(logits) };
    });
  }
  let logits: tf.Tensor2D | undefined;
  let loss: tf.Tensor1D | undefined;
  const gradient = tf.tidy(() =>
    tf.grad((input: tf.Tensor) => {
      const z = model.logits(input);
      const l = objective(z);
      // Kept past the tidy: the same forward pass gives both the step and the success check.
      logits = tf.keep(z);
      loss = tf.keep(l);
      return tf.sum(l);
    })(point),
  );
  return { logits: logits as unknown as tf.Tensor2D, loss: loss as unknown as tf.Tensor1D, gradient };
}

/** The mean of `samples` passes (the pass itself when there is one). */
function expectedPass(model: Classifier, point: tf.Tensor, objective: AttackObjective, withGradient: boolean, samples: number): Pass {
  let sum = onePass(model, point, objective, withGradient);
  for (let s = 1; s < samples; s++) {
    const next = onePass(model, point, objective, withGradient);
    const previous = sum;
    sum = tf.tidy(() => ({
      logits: tf.add(previous.logits, next.logits) as tf.Tensor2D,
      loss: tf.add(previous.loss, next.loss) as tf.Tensor1D,
      ...(previous.gradient && next.gradient ? { gradient: tf.add(previous.gradient, next.gradient) } : {}),
    }));
    for (const t of [previous.logits, previous.loss, previous.gradient, next.logits, next.loss, next.gradient]) t?.dispose();
  }
  if (samples === 1) return sum;
  const mean = tf.tidy(() => ({
    logits: tf.div(sum.logits, samples) as tf.Tensor2D,
    loss: tf.div(sum.loss, samples) as tf.Tensor1D,
    ...(sum.gradient ? { gradient: tf.div(sum.gradient, samples) } : {}),
  }));
  for (const t of [sum.logits, sum.loss, sum.gradient]) t?.dispose();
  return mean;
}

/**
 * Evaluates the objective (and its input gradient) at `point`.
 *
 * @throws GradientError `E_GRADIENT_NONFINITE` for NaN or infinite input gradients.
 * @example const { predicted, loss, gradient } = await observe(model, point, objective, { gradient: true, samples: 1, where: 'step 0' });
 */
export async function observe(
  model: Classifier,
  point: tf.Tensor,
  objective: AttackObjective,
  options: ObserveOptions,
): Promise<Observation> {
  const pass = expectedPass(model, point, objective, options.gradient, options.samples);
  const n = point.shape[0] as number;
  const summary = tf.tidy(() => {
    const parts = [tf.argMax(pass.logits, 1).toFloat(), pass.loss];
    if (pass.gradient)
      parts.push(
        tf
          .isFinite(tf.sum(tf.abs(pass.gradient)))
          .toFloat()
          .reshape([1]),
      );
    return tf.concat(parts);
  });
  const values = (await summary.data()) as Float32Array;
  summary.dispose();
  pass.logits.dispose();
  pass.loss.dispose();
  if (pass.gradient && values[2 * n] !== 1) {
    pass.gradient.dispose();
    throw new GradientError(
      'E_GRADIENT_NONFINITE',
      `Model '${model.id}' produced NaN or infinite input gradients at ${options.where}; ` +
        'check the model for log(0) or division by zero, or use a black-box attack (square, hsj).',
    );
  }
  return { predicted: values.subarray(0, n), loss: values.slice(n, 2 * n), ...(pass.gradient ? { gradient: pass.gradient } : {}) };
}

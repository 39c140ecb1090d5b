/**
 * Carlini-Wagner L2 — "Towards Evaluating the Robustness of Neural Networks", Carlini &
 * Wagner, IEEE S&P 2017, https://arxiv.org/abs/1608.04644
 *
 * Norm: L2 (the search minimises ‖δ‖₂). A minimum-norm attack: it optimises in tanh space
 * (so the bounds hold by construction) `‖x' − x‖² + c · max(margin, −κ)` with Adam, and
 * binary-searches the constant `c` per example. Against a threat it returns the smallest
 * adversarial point found when it lies within epsilon, else its projection onto the ball
 * (success re-checked); `minNorm` holds the unbounded distances in the threat's norm.
 * Defaults (the paper's / Foolbox 3, fewer steps): 9 binary-search steps, 1000 Adam steps
 * of learning rate 0.01 each, initial constant 0.001, confidence κ = 0, early abort when
 * the loss stalls.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { GradientError } from '../../core/errors.js';
import { flag, nonNegativeNumber, positiveNumber, wholeNumber } from '../../core/option-schema.js';
import { parseAttackOptions } from '../option-schema.js';
import type { Attack } from '../types.js';
import { attackOf, wrapAttack, type AttackContext, type AttackOutcome } from '../wrapper.js';
import { finishMinNorm } from './min-norm.js';
import { goalMet, rowDistances } from './rows.js';

export const cwOptions = z.strictObject({
  binarySearchSteps: wholeNumber(1).default(9),
  steps: wholeNumber(1).default(1000),
  learningRate: positiveNumber().default(0.01),
  initialConst: positiveNumber().default(1e-3),
  /** Confidence κ: how far past the boundary a point must be to count (default 0). */
  confidence: nonNegativeNumber().default(0),
  abortEarly: flag().default(true),
});
/** The options as given (each may be left out for its default). */
export type CwOptions = z.input<typeof cwOptions>;
/** The options resolved, defaults filled in. */
export type CwConfig = z.infer<typeof cwOptions>;

const BETA1 = 0.9;
const BETA2 = 0.999;

async function cwSearch(context: AttackContext, config: CwConfig): Promise<AttackOutcome> {
  const { model, x, threat, norm, targeted, goalClasses } = context;
  const { bounds } = threat;
  const range = bounds.max - bounds.min;
  const { n, rowSize: d, clean } = context;
  const best = Float32Array.from(clean);
  const bestL2 = new Float64Array(n).fill(Infinity);
  const queries = new Int32Array(n);
  const consts = new Float64Array(n).fill(config.initialConst);
  const lower = new Float64Array(n).fill(0);
  const upper = new Float64Array(n).fill(Infinity);
  const onehot = tf.tidy(() => tf.oneHot(tf.tensor1d(goalClasses, 'int32'), model.numClasses).toFloat());
  // tanh space: x' = min + range·(tanh(w) + 1)/2; the shrink keeps atanh finite at the bounds.
  const w0 = tf.tidy(() => tf.atanh(tf.mul(tf.sub(tf.mul(tf.div(tf.sub(x, bounds.min), range), 2), 1), 1 - 1e-6)));
  const toInput = (w: tf.Tensor): tf.Tensor => tf.add(bounds.min, tf.mul(range / 2, tf.add(tf.tanh(w), 1)));
  /** Margin to push below −κ: the goal class's logit against the best other one. */
  const margin = (z: tf.Tensor2D): tf.Tensor1D => {
    const own = tf.sum(tf.mul(onehot, z), 1);
    const other = tf.max(tf.sub(z, tf.mul(onehot, 1e9)), 1);
    return (targeted ? tf.sub(other, own) : tf.sub(own, other)) as tf.Tensor1D;
  };
  const total = config.binarySearchSteps * config.steps;
  let done = 0;
  try {
    for (let search = 0; search < config.binarySearchSteps; search++) {
      let w = tf.clone(w0);
      let m = tf.zerosLike(w0);
      let v = tf.zerosLike(w0);
      const c = tf.tensor1d(Float32Array.from(consts));
      const foundNow = new Uint8Array(n);
      let lastCheck = Infinity;
      try {
        for (let step = 1; step <= config.steps; step++) {
          let summary: tf.Tensor | undefined;
          const gradient = tf.tidy(() =>
            tf.grad((wt: tf.Tensor) => {
              const xa = toInput(wt);
              const z = model.logits(xa);
              const dist = tf.sum(tf.square(tf.sub(xa, x).reshape([n, -1])), 1);
              const f = margin(z);
              const loss = tf.add(dist, tf.mul(c, tf.maximum(f, -config.confidence)));
              summary = tf.keep(tf.concat([tf.argMax(z, 1).toFloat(), f, dist, tf.sum(loss).reshape([1])]));
              return tf.sum(loss);
            })(w),
          );
          const values = await (summary as unknown as tf.Tensor).data();
          (summary as unknown as tf.Tensor).dispose();
          const xa = tf.tidy(() => toInput(w));
          const point = await xa.data();
          xa.dispose();
          for (let i = 0; i < n; i++) {
            queries[i] = (queries[i] as number) + 1;
            const hit = goalMet(values[i] as number, goalClasses[i] as number, targeted) && (values[n + i] as number) <= -config.confidence;
            const l2 = Math.sqrt(values[2 * n + i] as number);
            if (hit) {
              foundNow[i] = 1;
              if (l2 < (bestL2[i] as number)) {
                bestL2[i] = l2;
                best.set(point.subarray(i * d, (i + 1) * d), i * d);
              }
            }
          }
          const lossValue = values[3 * n] as number;
          if (!Number.isFinite(lossValue)) {
            gradient.dispose();
            throw new GradientError(
              'E_GRADIENT_NONFINITE',
              `Model '${model.id}' gave a non-finite CW loss at step ${step}; check the model for log(0) or division by zero.`,
            );
          }
          const [nw, nm, nv] = tf.tidy(() => {
            const m2 = tf.add(tf.mul(BETA1, m), tf.mul(1 - BETA1, gradient));
            const v2 = tf.add(tf.mul(BETA2, v), tf.mul(1 - BETA2, tf.square(gradient)));
            const mHat = tf.div(m2, 1 - BETA1 ** step);
            const vHat = tf.div(v2, 1 - BETA2 ** step);
            return [tf.sub(w, tf.mul(config.learningRate, tf.div(mHat, tf.add(tf.sqrt(vHat), 1e-8)))), m2, v2];
          });
          gradient.dispose();
          w.dispose();
          m.dispose();
          v.dispose();
          [w, m, v] = [nw as tf.Tensor, nm as tf.Tensor, nv as tf.Tensor];
          context.onProgress({ done: ++done, total });
          if (config.abortEarly && step % Math.ceil(config.steps / 10) === 0) {
            if (!(lossValue <= 0.9999 * lastCheck)) break;
            lastCheck = lossValue;
          }
        }
      } finally {
        w.dispose();
        m.dispose();
        v.dispose();
        c.dispose();
      }
      for (let i = 0; i < n; i++) {
        if (foundNow[i]) upper[i] = Math.min(upper[i] as number, consts[i] as number);
        else lower[i] = Math.max(lower[i] as number, consts[i] as number);
        consts[i] = Number.isFinite(upper[i] as number) ? ((lower[i] as number) + (upper[i] as number)) / 2 : (consts[i] as number) * 10;
      }
      done = (search + 1) * config.steps;
    }
  } finally {
    onehot.dispose();
    w0.dispose();
  }
  const distances = rowDistances(norm, best, clean, n);
  const minNorm = Float32Array.from(distances, (value, i) => (Number.isFinite(bestL2[i] as number) ? value : Infinity));
  return finishMinNorm(context, { points: best, minNorm, queries });
}

/**
 * Runs Carlini-Wagner L2 on a batch and answers to the threat as a minimum-norm attack.
 *
 * @throws InputError for a batch or labels that do not fit the model (see validateAttackInputs).
 * @throws GradientError `E_NOT_DIFFERENTIABLE` for a black-box model, `E_GRADIENT_NONFINITE` for NaN gradients.
 * @example const result = await cwAttack(model, x, labels, threat, cwOptions.parse({ steps: 200 }));
 */
export const cwAttack = wrapAttack('cw', 'gradients', cwSearch);

/**
 * @throws UsageError `E_ATTACK_OPTION` for an unknown option or a value out of range.
 * @example const result = await cw({ steps: 200, binarySearchSteps: 5 }).run(model, x, labels, threatModel({ norm: 'l2', epsilon: 2 }));
 */
export function cw(options: CwOptions = {}): Attack {
  return attackOf('cw', parseAttackOptions('cw', cwOptions, options), cwAttack);
}

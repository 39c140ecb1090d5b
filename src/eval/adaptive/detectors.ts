/**
 * The serve-time detectors as differentiable pass margins, so an attacker who knows they
 * are there can optimise against them ("adaptive attacks", Tramèr, Carlini, Brendel, Madry,
 * "On Adaptive Attacks to Adversarial Example Defenses", NeurIPS 2020,
 * https://arxiv.org/abs/2002.08347). Each detector gives, per example, a margin that is
 * >= 0 exactly when the serving layer would let the example pass, computed from the same
 * numbers the layer reads (src/defenses): the calibrated top probability (abstain), the
 * Mahalanobis distance over the detector's threshold (ood), the members' votes
 * (ensemble). A layer that is not differentiable is attacked through BPDA (below).
 */
import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../../core/errors.js';
import type { OodDetector } from '../../defenses/ood/index.js';
import type { Classifier } from '../../models/classifier.js';

export interface StackDetector {
  readonly id: string;
  /**
   * Per-example pass margin `[batch]`, >= 0 where the layer passes the example. Differentiable
   * in `x` (through `logits`, the stack model's logits at `x`) wherever the layer is.
   */
  margin(x: tf.Tensor, logits: tf.Tensor2D): tf.Tensor1D;
  /** Frees tensors the detector holds (the OOD whitening matrix). */
  dispose?(): void;
}

/**
 * The abstention layer: passes when the temperature-scaled top probability reaches `threshold`.
 *
 * @example const d = abstainDetector({ threshold: 0.5, temperature: 1.3 });
 */
export function abstainDetector(options: { threshold?: number; temperature?: number } = {}): StackDetector {
  const threshold = options.threshold ?? 0.5;
  const temperature = options.temperature ?? 1;
  return {
    id: 'abstain',
    margin: (_x, logits) => tf.sub(tf.max(tf.softmax(tf.div(logits, temperature)), 1), threshold) as tf.Tensor1D,
  };
}

/**
 * The OOD layer on logits (a detector fitted with `source: 'logits'`), or on `features(x)`
 * when given (penultimate activations): passes while the squared Mahalanobis distance to
 * the nearest class mean stays below `flagAt` times the threshold. The margin is
 * `flagAt - distance / threshold`; the nearest mean is picked by min(), whose gradient goes
 * to the nearest class, as in the layer.
 *
 * @throws UsageError `E_OOD_SOURCE` for a penultimate-feature detector without `features`.
 */
export function oodDetector(
  detector: OodDetector,
  options: { flagAt?: number; features?: (x: tf.Tensor) => tf.Tensor2D } = {},
): StackDetector {
  const flagAt = options.flagAt ?? 1;
  if (detector.source === 'penultimate' && !options.features) {
    throw new UsageError(
      'E_OOD_SOURCE',
      "This OOD detector scores penultimate features; pass `features` (the model's penultimate activations) or fit it on logits.",
    );
  }
  const d = detector.dims;
  // Stored row-major lower-triangular L⁻¹ and whitened means: distance = min_c ‖L⁻¹f − m_c‖².
  const whitening = tf.tensor2d(detector.json.whitening, [d, d]);
  const means = tf.tensor2d(detector.json.means);
  return {
    id: 'ood',
    dispose: () => {
      whitening.dispose();
      means.dispose();
    },
    margin: (x, logits) => {
      const f = options.features ? options.features(x) : logits;
      const z = tf.matMul(f, whitening, false, true);
      const diff = tf.sub(tf.expandDims(z, 1), tf.expandDims(means, 0));
      const distance = tf.min(tf.sum(tf.square(diff), 2), 1);
      return tf.sub(flagAt, tf.div(distance, detector.threshold)) as tf.Tensor1D;
    },
  };
}

/**
 * The ensemble-disagreement layer: passes while fewer than `flagAt` of the members disagree
 * with the stack model's class. A member agrees when its own logit margin for that class is
 * >= 0; the layer passes when the `need`-th largest member margin is >= 0, with `need` the
 * fewest agreeing members that keep the disagreeing fraction below `flagAt`. The class is the
 * stack model's current prediction (a constant in the gradient). Members without gradients
 * are attacked through BPDA: their margins enter as constants (see {@link bpda}).
 *
 * @throws UsageError `E_ENSEMBLE_SIZE` without members.
 */
export function ensembleDetector(members: readonly Classifier[], options: { flagAt?: number } = {}): StackDetector {
  if (members.length === 0)
    throw new UsageError('E_ENSEMBLE_SIZE', 'The ensemble detector needs at least one member model besides the served one.');
  const flagAt = options.flagAt ?? 0.5;
  const m = members.length;
  const need = Math.min(m, Math.floor(m * (1 - flagAt) + 1e-9) + 1);
  return {
    id: 'ensemble',
    margin: (x, logits) => {
      const numClasses = logits.shape[1];
      const primary = tf.oneHot(tf.argMax(logits, 1), numClasses).toFloat();
      const margins = members.map((member) => {
        const z = member.differentiable ? member.logits(x) : bpda((input) => member.logits(input), x);
        const own = tf.sum(tf.mul(primary, z), 1);
        const other = tf.max(tf.sub(z, tf.mul(primary, 1e9)), 1);
        return tf.sub(own, other);
      });
      let rest = tf.stack(margins, 1) as tf.Tensor2D;
      let kth = tf.max(rest, 1);
      for (let k = 1; k < need; k++) {
        rest = tf.sub(rest, tf.mul(tf.oneHot(tf.argMax(rest, 1), m).toFloat(), 1e9)) as tf.Tensor2D;
        kth = tf.max(rest, 1);
      }
      return kth as tf.Tensor1D;
    },
  };
}

/**
 * Backward-pass differentiable approximation (Athalye, Carlini, Wagner, "Obfuscated
 * Gradients Give a False Sense of Security", ICML 2018, https://arxiv.org/abs/1802.00420):
 * the forward pass of a non-differentiable layer, with the gradient of the identity (only
 * meaningful for layers whose output has the input's shape, e.g. quantisation, denoising);
 * for a layer of another shape the gradient is zero (its output is then a constant).
 *
 * @example const y = bpda((t) => tf.round(t), x); // forward rounds, backward passes dy through
 */
export function bpda(layer: (x: tf.Tensor) => tf.Tensor, x: tf.Tensor): tf.Tensor {
  const forward = (
    input: tf.Tensor,
    save: tf.GradSaveFunc,
  ): { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor } => {
    const value = tf.tidy(() => layer(input));
    save([input]);
    const same = value.shape.length === input.shape.length && value.shape.every((s, i) => s === input.shape[i]);
    return { value, gradFunc: (dy, saved) => (same ? dy : tf.zerosLike(saved[0] as tf.Tensor)) };
  };
  // customGrad's typing is variadic; this layer takes exactly one tensor.
  return tf.customGrad(forward as unknown as Parameters<typeof tf.customGrad>[0])(x);
}

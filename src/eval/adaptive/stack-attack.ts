/**
 * The adaptive attack on a defended stack: a model and the detectors in front of and behind
 * it. Success means the input is misclassified AND passes every layer. Two phases:
 *
 * 1. The bare-model attacks (PGD by default, through the registry) on the model alone:
 *    their points are the starting points, and an example they misclassify stays
 *    misclassified in the result, so the stack attack misclassifies at least as often as
 *    the best of them (ignoring detection).
 * 2. Joint projected gradient ascent on `min(misclassification margin, κ) + w·Σ min(layer
 *    margin, 0)`: push across the boundary, then pull each layer's margin back above zero.
 *    Layers without gradients enter through BPDA (detectors.ts).
 *
 * Per example the result is the first point that succeeds, else a misclassified one, else
 * the last; the flags are read at exactly those points.
 */
import * as tf from '@tensorflow/tfjs';
import type { Classifier } from '../../models/classifier.js';
import { createAttack } from '../../attacks/registry.js';
import { ascentStep } from '../../attacks/image/ascent.js';
import { getNorm } from '../../threats/norms.js';
import type { ThreatModel } from '../../threats/threat-model.js';
import type { AttackSpec } from '../robustness.js';
import type { StackDetector } from './detectors.js';

export interface DefendedStack {
  model: Classifier;
  detectors: readonly StackDetector[];
}

export interface StackAttackOptions {
  /** Joint ascent steps (default 40). */
  steps?: number;
  /** Attacks on the bare model that give the starting points (default PGD). */
  bare?: readonly AttackSpec[];
  /** Weight of the detector margins against the misclassification margin (default 1). */
  detectorWeight?: number;
  /** Logit margin past the boundary the joint loss still rewards (default 1). */
  confidence?: number;
  seed?: number;
}

export interface StackAttackResult {
  /** `[batch, ...]`; the caller disposes it. */
  adversarial: tf.Tensor;
  /** The model's class is wrong. */
  misclassified: Uint8Array;
  /** Per detector id, 1 where the layer passes the point. */
  passes: Record<string, Uint8Array>;
  /** Misclassified and passed by every layer. */
  success: Uint8Array;
}

interface Verdicts {
  misclassified: Uint8Array;
  passes: Record<string, Uint8Array>;
  success: Uint8Array;
}

/** The stack's verdicts at `point`: exact, from one forward pass. */
export async function stackVerdicts(stack: DefendedStack, point: tf.Tensor, labels: Int32Array): Promise<Verdicts> {
  const parts = tf.tidy(() => {
    const logits = stack.model.logits(point);
    return [tf.argMax(logits, 1).toFloat(), ...stack.detectors.map((d) => d.margin(point, logits))];
  });
  const values = await Promise.all(parts.map((t) => t.data()));
  for (const t of parts) t.dispose();
  const predicted = values[0] as Float32Array;
  const misclassified = Uint8Array.from(labels, (label, i) => Number(predicted[i] !== label));
  const passes: Record<string, Uint8Array> = {};
  stack.detectors.forEach((d, k) => {
    passes[d.id] = Uint8Array.from(values[k + 1] as Float32Array, (m) => Number(m >= 0));
  });
  const success = Uint8Array.from(misclassified, (mis, i) => Number(mis === 1 && stack.detectors.every((d) => passes[d.id]?.[i] === 1)));
  return { misclassified, passes, success };
}

/** Blends `a` where `mask` is 1 with `b` elsewhere, per example. */
function blend(a: tf.Tensor, b: tf.Tensor, mask: Uint8Array): tf.Tensor {
  return tf.tidy(() => {
    const m = tf.tensor(mask, [mask.length, ...new Array<number>(a.rank - 1).fill(1)], 'float32');
    return tf.add(tf.mul(a, m), tf.mul(b, tf.sub(1, m)));
  });
}

/** Phase 1: the bare-model attacks; per example the first misclassifying point, else the last attack's. */
async function bareStart(stack: DefendedStack, x: tf.Tensor, labels: Int32Array, threat: ThreatModel, options: StackAttackOptions) {
  let start = tf.clone(x);
  const found = new Uint8Array(labels.length);
  for (const [k, spec] of (options.bare ?? [{ id: 'pgd' }]).entries()) {
    const result = await createAttack(spec.id, spec.options ?? {}).run(stack.model, x, labels, threat, { seed: (options.seed ?? 0) + k });
    const take = Uint8Array.from(result.success, (s, i) => Number(!found[i] && (s === 1 || k === 0)));
    const next = blend(result.adversarial, start, take);
    result.adversarial.dispose();
    start.dispose();
    start = next;
    result.success.forEach((s, i) => {
      if (s) found[i] = 1;
    });
  }
  return start;
}

/**
 * Attacks the model and its detectors together.
 *
 * @throws UsageError `E_UNKNOWN_ATTACK` / `E_ATTACK_OPTION` for a bad bare attack; whatever those attacks throw.
 * @example const r = await attackStack({ model, detectors: [abstainDetector()] }, x, labels, threat, { steps: 20 });
 */
export async function attackStack(
  stack: DefendedStack,
  x: tf.Tensor,
  labels: Int32Array,
  threat: ThreatModel,
  options: StackAttackOptions = {},
): Promise<StackAttackResult> {
  const steps = options.steps ?? 40;
  const weight = options.detectorWeight ?? 1;
  const kappa = options.confidence ?? 1;
  const norm = getNorm(threat.norm);
  const alpha = (2.5 / steps) * threat.epsilon;
  const labelTensor = tf.tensor1d(labels, 'int32');
  const objective = (input: tf.Tensor): tf.Scalar => {
    const logits = stack.model.logits(input);
    const onehot = tf.oneHot(labelTensor, logits.shape[1]).toFloat();
    const own = tf.sum(tf.mul(onehot, logits), 1);
    const other = tf.max(tf.sub(logits, tf.mul(onehot, 1e9)), 1);
    let loss = tf.minimum(tf.sub(other, own), kappa);
    for (const d of stack.detectors) loss = tf.add(loss, tf.mul(weight, tf.minimum(d.margin(input, logits), 0)));
    return tf.sum(loss);
  };
  const gradientOf = tf.grad(objective);
  let current = await bareStart(stack, x, labels, threat, options);
  let best = tf.clone(current);
  let state = await stackVerdicts(stack, current, labels);
  try {
    for (let step = 0; step < steps && !state.success.every((s) => s === 1); step++) {
      const gradient = tf.tidy(() => gradientOf(current));
      const next = ascentStep(x, current, gradient, norm, threat, alpha);
      gradient.dispose();
      current.dispose();
      current = next;
      const seen = await stackVerdicts(stack, current, labels);
      // Take the new point where it succeeds and the kept one does not, or where neither has
      // succeeded and it misclassifies at least as well: a misclassified point is never lost.
      const take = Uint8Array.from(seen.success, (s, i) => {
        if (state.success[i]) return 0;
        return Number(s === 1 || (seen.misclassified[i] === 1 && state.misclassified[i] === 0));
      });
      if (take.some((t) => t === 1)) {
        const kept = best;
        best = blend(current, kept, take);
        kept.dispose();
        state = await stackVerdicts(stack, best, labels);
      }
    }
    return { adversarial: best, ...state };
  } catch (error) {
    best.dispose();
    throw error;
  } finally {
    current.dispose();
    labelTensor.dispose();
  }
}

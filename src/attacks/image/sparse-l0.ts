/**
 * Sparse L0 attack, JSMA-style — after "The Limitations of Deep Learning in Adversarial
 * Settings", Papernot, McDaniel, Jha, Fredrikson, Celik, Swami, EuroS&P 2016,
 * https://arxiv.org/abs/1511.07528 (saliency-guided pixel choice), with the saturating
 * update of the one-pixel/k-pixel literature: each step sets the most salient untouched
 * pixels to the bound their gradient points to.
 *
 * Norm: `l0` only; the threat's epsilon is `k`, the number of pixels (all channels of a
 * pixel may change). The saliency of a pixel is the first-order gain of moving it to its
 * bound: sum over channels of |∂loss/∂x| times the room left in the gradient's direction.
 * An example stops as soon as its goal holds, so the returned points change as few pixels
 * as the greedy search needed. Deterministic: no seed is used.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { wholeNumber } from '../../core/option-schema.js';
import { attackLoss } from '../losses.js';
import { lossOption, parseAttackOptions } from '../option-schema.js';
import type { Attack } from '../types.js';
import { attackOf, wrapAttack, type AttackContext, type AttackOutcome } from '../wrapper.js';
import { pixelGeometry } from '../../threats/sparse-norms.js';
import { observe } from './loss-gradient.js';

export const sparseL0Options = z.strictObject({
  /** Pixels set per gradient step (default 1; larger is faster and coarser). */
  pixelsPerStep: wholeNumber(1).default(1),
  /** `ce` or `margin` (default, it does not saturate on confident models). */
  loss: lossOption.default('margin'),
});
export type SparseL0Options = z.input<typeof sparseL0Options>;
type SparseL0Config = z.infer<typeof sparseL0Options>;

/** The `count` most salient untouched pixels of example `i`, in decreasing saliency. */
function salientPixels(
  grad: Float32Array,
  point: Float32Array,
  touched: Uint8Array,
  i: number,
  geometry: Geometry,
  count: number,
): number[] {
  const { pixels, c, min, max } = geometry;
  const scored: { pixel: number; gain: number }[] = [];
  for (let p = 0; p < pixels; p++) {
    if (touched[i * pixels + p]) continue;
    let gain = 0;
    for (let ch = 0; ch < c; ch++) {
      const k = (i * pixels + p) * c + ch;
      const g = grad[k] as number;
      gain += Math.abs(g) * (g > 0 ? max - (point[k] as number) : (point[k] as number) - min);
    }
    scored.push({ pixel: p, gain });
  }
  scored.sort((a, b) => b.gain - a.gain || a.pixel - b.pixel);
  return scored.slice(0, count).map((s) => s.pixel);
}

interface Geometry {
  pixels: number;
  c: number;
  min: number;
  max: number;
}

async function sparseSearch(context: AttackContext, config: SparseL0Config): Promise<AttackOutcome> {
  const { model, x, n, threat, targeted, goalClasses } = context;
  const { h, w, c } = pixelGeometry(x.shape);
  const geometry: Geometry = { pixels: h * w, c, min: threat.bounds.min, max: threat.bounds.max };
  const k = Math.min(threat.epsilon, geometry.pixels);
  const steps = Math.ceil(k / config.pixelsPerStep);
  const point = Float32Array.from(context.clean);
  const touched = new Uint8Array(n * geometry.pixels);
  const used = new Int32Array(n);
  const success = new Uint8Array(n);
  const queries = new Int32Array(n);
  const targets = tf.tensor1d(goalClasses, 'int32');
  const objective = (logits: tf.Tensor2D): tf.Tensor1D => attackLoss(config.loss, logits, targets, targeted);
  try {
    for (let step = 0; step <= steps; step++) {
      const last = step === steps;
      const current = tf.tensor(point, x.shape);
      const seen = await observe(model, current, objective, { gradient: !last, samples: 1, where: `step ${step}` }).finally(() =>
        current.dispose(),
      );
      let active = 0;
      for (let i = 0; i < n; i++) {
        if (success[i]) continue;
        queries[i] = (queries[i] as number) + 1;
        const pred = seen.predicted[i] as number;
        if (targeted ? pred === goalClasses[i] : pred !== goalClasses[i]) success[i] = 1;
        else if ((used[i] as number) < k) active++;
      }
      if (last || active === 0) {
        seen.gradient?.dispose();
        break;
      }
      const grad = (await (seen.gradient as tf.Tensor).data()) as Float32Array;
      (seen.gradient as tf.Tensor).dispose();
      for (let i = 0; i < n; i++) {
        if (success[i] || (used[i] as number) >= k) continue;
        const take = Math.min(config.pixelsPerStep, k - (used[i] as number));
        for (const p of salientPixels(grad, point, touched, i, geometry, take)) {
          touched[i * geometry.pixels + p] = 1;
          used[i] = (used[i] as number) + 1;
          for (let ch = 0; ch < c; ch++) {
            const at = (i * geometry.pixels + p) * c + ch;
            point[at] = (grad[at] as number) > 0 ? geometry.max : (grad[at] as number) < 0 ? geometry.min : (point[at] as number);
          }
        }
      }
      context.onProgress({ done: step + 1, total: steps });
    }
  } finally {
    targets.dispose();
  }
  return { adversarial: tf.tensor(point, x.shape), success, queries };
}

/**
 * Runs the greedy k-pixel search (k = the threat's epsilon) on a batch.
 *
 * @throws UsageError `E_THREAT_NORM` for a threat that is not `l0`.
 * @throws GradientError `E_NOT_DIFFERENTIABLE` for a model without gradients.
 */
export const sparseL0Attack = wrapAttack('sparse-l0', 'gradients', sparseSearch, ['l0']);

/**
 * @throws UsageError `E_ATTACK_OPTION` for an unknown option or a value out of range.
 * @example const r = await sparseL0().run(model, x, labels, threatModel({ norm: 'l0', epsilon: 10 }));
 */
export function sparseL0(options: SparseL0Options = {}): Attack {
  return attackOf('sparse-l0', parseAttackOptions('sparse-l0', sparseL0Options, options), sparseL0Attack);
}

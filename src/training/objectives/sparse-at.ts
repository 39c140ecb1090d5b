/**
 * Sparse (L0) adversarial training: the inner maximisation is the sparse-l0 attack's step —
 * after "The Limitations of Deep Learning in Adversarial Settings", Papernot et al., EuroS&P
 * 2016 (https://arxiv.org/abs/1511.07528), saturating as in the k-pixel literature — batched
 * in tensors with no early stop: over `steps` rounds, each example's most salient untouched
 * pixels (first-order gain of moving the pixel to the bound its gradient points to, summed
 * over channels) are set to that bound, until k pixels are set. The outer step trains on
 * (1 − r) · CE(clean) + r · CE(sparse). Every prepared example differs from its clean one in
 * at most k pixels, so it lies inside the `l0` threat the evaluation attacks.
 */
import * as tf from '@tensorflow/tfjs';
import { attackLoss } from '../../attacks/losses.js';
import { pixelGeometry } from '../../threats/sparse-norms.js';
import { inferenceLogits } from './losses.js';
import { mixedLoss } from './mixed-loss.js';
import { parseObjectiveOptions, sparseAtOptions, type SparseAtOptions } from './schemas.js';
import type { Objective, ObjectiveBatch } from './types.js';

export type { SparseAtOptions };

interface SparseInner {
  pixels: number;
  steps: number;
  bounds: { min: number; max: number };
}

/** Pixels set in each round: k spread over the rounds, the first rounds taking the remainder. */
function perRound(k: number, steps: number): number[] {
  const rounds = Math.min(k, steps);
  return Array.from({ length: rounds }, (_, r) => Math.floor(k / rounds) + (r < k % rounds ? 1 : 0));
}

/**
 * The batch with k saliency-chosen pixels per example saturated (the caller disposes it).
 *
 * @example const sparse = sparseAscent(model, batch, { pixels: 10, steps: 4, bounds: { min: 0, max: 1 } });
 */
export function sparseAscent(model: tf.LayersModel, batch: ObjectiveBatch, inner: SparseInner): tf.Tensor {
  const { x, y } = batch;
  const { h, w, c } = pixelGeometry(x.shape);
  const n = x.shape[0] ?? 1;
  const count = h * w;
  const k = Math.min(inner.pixels, count);
  const { min, max } = inner.bounds;
  const logits = inferenceLogits(model);
  const gradientOf = tf.grad((input: tf.Tensor) => tf.sum(attackLoss('ce', logits(input), y, false)));
  return tf.tidy(() => {
    let current = x.reshape([n, h, w, c]);
    let touched = tf.zeros([n, count]);
    for (const take of perRound(k, inner.steps)) {
      const g = gradientOf(current.reshape(x.shape)).reshape([n, h, w, c]);
      const up = tf.greater(g, 0);
      const room = tf.where(up, tf.sub(max, current), tf.sub(current, min));
      const gain = tf.sum(tf.mul(tf.abs(g), room), 3).reshape([n, count]);
      // Touched pixels are never chosen again, so exactly k distinct pixels change.
      const open = tf.where(tf.greater(touched, 0), tf.fill([n, count], -Infinity), gain);
      const { indices } = tf.topk(open, take);
      const chosen = tf.sum(tf.oneHot(indices, count), 1);
      const target = tf.where(up, tf.fill(g.shape, max), tf.where(tf.less(g, 0), tf.fill(g.shape, min), current));
      const mask = chosen.reshape([n, h, w, 1]);
      current = tf.add(tf.mul(current, tf.sub(1, mask)), tf.mul(target, mask));
      touched = tf.maximum(touched, chosen);
    }
    return current.reshape(x.shape);
  });
}

/**
 * Sparse adversarial training as a trainer objective.
 *
 * @throws UsageError `E_OBJECTIVE_OPTION` for a missing or invalid `pixels`, steps < 1, or a value out of range.
 * @example await trainModel({ model, train, objective: sparseAt({ pixels: 10 }), ... });
 */
export function sparseAt(options: SparseAtOptions): Objective {
  const o = parseObjectiveOptions('sparse-at', sparseAtOptions, options);
  const inner: SparseInner = { pixels: o.pixels, steps: o.steps ?? Math.min(o.pixels, 4), bounds: o.bounds ?? { min: 0, max: 1 } };
  const mixRatio = o.mixRatio ?? 0.5;
  return {
    id: 'sparse-at',
    config: { ...inner, mixRatio },
    prepare: async (model, batch) => sparseAscent(model, batch, inner),
    loss: (model, batch, prepared) => mixedLoss(model, batch, prepared, mixRatio),
  };
}

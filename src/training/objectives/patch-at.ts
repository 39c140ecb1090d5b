/**
 * Patch-aware adversarial training — after "Adversarial Patch", Brown et al. 2017
 * (https://arxiv.org/abs/1712.09665) for the threat, and "Adversarial Training against
 * Location-Optimized Adversarial Patches", Rao, Stutz, Schiele, ECCV-W 2020
 * (https://arxiv.org/abs/2005.02313) for the training: each batch gets one square patch
 * per example at a random location (seeded by the batch), whose content is optimised for a
 * few signed gradient steps on the cross-entropy with the model in inference mode; the
 * outer step trains on (1 − r) * CE(clean) + r * CE(patched).
 */
import * as tf from '@tensorflow/tfjs';
import { createRng } from '../../core/rng.js';
import { attackLoss } from '../../attacks/losses.js';
import { boxMask, pixelGeometry } from '../../threats/sparse-norms.js';
import { inferenceLogits, meanCrossEntropy, trainingLogits } from './losses.js';
import { parseObjectiveOptions, patchAtOptions, type PatchAtOptions } from './schemas.js';
import type { Objective, ObjectiveBatch } from './types.js';

export type { PatchAtOptions };

interface PatchInner {
  size: number;
  steps: number;
  stepSize: number;
  bounds: { min: number; max: number };
}

/** The batch with a content-optimised patch at a random location per example. */
export function patchAscent(model: tf.LayersModel, batch: ObjectiveBatch, inner: PatchInner): tf.Tensor {
  const { x, y } = batch;
  const { h, w, c } = pixelGeometry(x.shape);
  const n = x.shape[0] ?? 1;
  const sh = Math.min(inner.size, h);
  const sw = Math.min(inner.size, w);
  const rng = createRng(batch.seed);
  const tops = Float32Array.from({ length: n }, () => rng.int(h - sh + 1));
  const lefts = Float32Array.from({ length: n }, () => rng.int(w - sw + 1));
  const { min, max } = inner.bounds;
  const logits = inferenceLogits(model);
  const gradientOf = tf.grad((input: tf.Tensor) => tf.sum(attackLoss('ce', logits(input), y, false)));
  return tf.tidy(() => {
    const mask = tf.expandDims(boxMask(tf.tensor1d(tops), tf.tensor1d(lefts), h, w, sh, sw), 3);
    const images = x.reshape([n, h, w, c]);
    const noise = tf.randomUniform([n, h, w, c], min, max, 'float32', rng.seed());
    let current = tf.add(tf.mul(images, tf.sub(1, mask)), tf.mul(noise, mask));
    for (let step = 0; step < inner.steps; step++) {
      const g = gradientOf(current.reshape(x.shape)).reshape([n, h, w, c]);
      current = tf.clipByValue(tf.add(current, tf.mul(tf.mul(inner.stepSize * (max - min), tf.sign(g)), mask)), min, max);
    }
    return current.reshape(x.shape);
  });
}

/**
 * Patch-aware adversarial training as a trainer objective.
 *
 * @throws UsageError `E_OBJECTIVE_OPTION` for a missing or invalid size, steps < 1, or a value out of range.
 * @example await trainModel({ model, train, objective: patchAt({ size: 6, steps: 5 }), ... });
 */
export function patchAt(options: PatchAtOptions): Objective {
  const o = parseObjectiveOptions('patch-at', patchAtOptions, options);
  const inner: PatchInner = { size: o.size, steps: o.steps ?? 5, stepSize: o.stepSize ?? 0.25, bounds: o.bounds ?? { min: 0, max: 1 } };
  const mixRatio = o.mixRatio ?? 0.5;
  return {
    id: 'patch-at',
    config: { ...inner, mixRatio },
    prepare: async (model, batch) => patchAscent(model, batch, inner),
    loss: (model, batch, prepared) =>
      tf.tidy(() => {
        const patched = meanCrossEntropy(trainingLogits(model, prepared), batch.y);
        if (mixRatio === 1) return patched;
        const clean = meanCrossEntropy(trainingLogits(model, batch.x), batch.y);
        return tf.add(tf.mul(1 - mixRatio, clean), tf.mul(mixRatio, patched)) as tf.Scalar;
      }),
  };
}

/**
 * Occlusion adversarial training: worst-of-k random occluders — the random-box mode of the
 * occlusion sweep (Zeiler & Fergus, ECCV 2014, https://arxiv.org/abs/1311.2901) as the inner
 * maximisation, in the spirit of worst-of-k spatial training (Engstrom et al., ICML 2019,
 * https://arxiv.org/abs/1712.02779): per example, `samples` boxes of the threat's side are
 * dropped at seeded random positions, filled with the occluder's colour, and the one with
 * the highest cross-entropy (model in inference mode) is kept. No gradient is needed. The
 * outer step trains on (1 − r) · CE(clean) + r · CE(worst occluded).
 */
import * as tf from '@tensorflow/tfjs';
import { attackLoss } from '../../attacks/losses.js';
import { createRng } from '../../core/rng.js';
import { boxMask, pixelGeometry } from '../../threats/sparse-norms.js';
import { inferenceLogits } from './losses.js';
import { mixedLoss } from './mixed-loss.js';
import { occlusionAtOptions, parseObjectiveOptions, type OcclusionAtOptions } from './schemas.js';
import type { Objective, ObjectiveBatch } from './types.js';

export type { OcclusionAtOptions };

interface OcclusionInner {
  size: number;
  samples: number;
  fill: 'grey' | 'black' | 'white';
  bounds: { min: number; max: number };
}

/**
 * The batch with, per example, the worst of `samples` random occluders (the caller disposes it).
 *
 * @example const occluded = worstOcclusion(model, batch, { size: 8, samples: 8, fill: 'grey', bounds: { min: 0, max: 1 } });
 */
export function worstOcclusion(model: tf.LayersModel, batch: ObjectiveBatch, inner: OcclusionInner): tf.Tensor {
  const { x, y } = batch;
  const { h, w, c } = pixelGeometry(x.shape);
  const n = x.shape[0] ?? 1;
  const sh = Math.min(inner.size, h);
  const sw = Math.min(inner.size, w);
  const k = inner.samples;
  const rng = createRng(batch.seed);
  // Sample-major: row s * n + i is example i under box s; drawn in that order, so the
  // first boxes do not depend on how many samples follow.
  const tops = new Float32Array(k * n);
  const lefts = new Float32Array(k * n);
  for (let row = 0; row < k * n; row++) {
    tops[row] = rng.int(h - sh + 1);
    lefts[row] = rng.int(w - sw + 1);
  }
  const { min, max } = inner.bounds;
  const value = inner.fill === 'black' ? min : inner.fill === 'white' ? max : (min + max) / 2;
  return tf.tidy(() => {
    const mask = tf.expandDims(boxMask(tf.tensor1d(tops), tf.tensor1d(lefts), h, w, sh, sw), 3);
    const images = tf.tile(x.reshape([n, h, w, c]), [k, 1, 1, 1]);
    const candidates = tf.add(tf.mul(images, tf.sub(1, mask)), tf.mul(value, mask));
    const labels = tf.tile(y, [k]);
    const losses = attackLoss('ce', inferenceLogits(model)(candidates.reshape([k * n, ...x.shape.slice(1)])), labels, false);
    const worst = tf.argMax(losses.reshape([k, n]), 0);
    const rows = tf.cast(tf.add(tf.mul(worst, n), tf.range(0, n, 1, 'int32')), 'int32');
    return tf.gather(candidates, rows).reshape(x.shape);
  });
}

/**
 * Occlusion adversarial training as a trainer objective.
 *
 * @throws UsageError `E_OBJECTIVE_OPTION` for a missing or invalid `size`, samples outside [1, 64], or a value out of range.
 * @example await trainModel({ model, train, objective: occlusionAt({ size: 8, samples: 8 }), ... });
 */
export function occlusionAt(options: OcclusionAtOptions): Objective {
  const o = parseObjectiveOptions('occlusion-at', occlusionAtOptions, options);
  const inner: OcclusionInner = { size: o.size, samples: o.samples ?? 8, fill: o.fill ?? 'grey', bounds: o.bounds ?? { min: 0, max: 1 } };
  const mixRatio = o.mixRatio ?? 0.5;
  return {
    id: 'occlusion-at',
    config: { ...inner, mixRatio },
    prepare: async (model, batch) => worstOcclusion(model, batch, inner),
    loss: (model, batch, prepared) => mixedLoss(model, batch, prepared, mixRatio),
  };
}

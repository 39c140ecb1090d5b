/**
 * Placing square patches in images: the shared geometry of the adversarial patch attack,
 * the occlusion sweep and patch-aware training. Images are viewed as `[batch, h, w, c]`
 * whatever the model's input rank (see pixelGeometry).
 */
import * as tf from '@tensorflow/tfjs';
import { ThreatError } from '../../core/errors.js';
import type { Rng } from '../../core/rng.js';
import { pixelGeometry } from '../../threats/sparse-norms.js';

export interface Location {
  top: number;
  left: number;
}

/**
 * The box side of a patch/occlusion threat for inputs of `shape`.
 *
 * @throws ThreatError `E_EPSILON_RANGE` when the box is empty or larger than the image.
 */
export function boxSide(shape: readonly number[], side: number): { side: number; h: number; w: number; c: number } {
  const { h, w, c } = pixelGeometry(shape);
  if (side < 1 || side > Math.min(h, w)) {
    throw new ThreatError('E_EPSILON_RANGE', `A box of side ${side} does not fit ${h}x${w} images; use a side in 1..${Math.min(h, w)}.`, {
      details: { side, h, w },
    });
  }
  return { side, h, w, c };
}

/** `count` uniformly random top-left corners for an `s x s` box in an `h x w` image. */
export function randomLocations(rng: Rng, count: number, h: number, w: number, s: number): Location[] {
  return Array.from({ length: count }, () => ({ top: rng.int(h - s + 1), left: rng.int(w - s + 1) }));
}

/**
 * `x` with `patch` (`[s, s, c]`) pasted at one location per example, in `x`'s shape.
 * Differentiable in `patch` (and in `x` outside the boxes).
 */
export function pastePatch(x: tf.Tensor, patch: tf.Tensor3D, locations: readonly Location[]): tf.Tensor {
  return tf.tidy(() => {
    const { h, w, c } = pixelGeometry(x.shape);
    const s = patch.shape[0];
    const images = x.reshape([x.shape[0] ?? 1, h, w, c]);
    const ones = tf.ones([s, s, c]) as tf.Tensor3D;
    const placed: tf.Tensor3D[] = [];
    const masks: tf.Tensor3D[] = [];
    for (const { top, left } of locations) {
      const pad: [number, number][] = [
        [top, h - s - top],
        [left, w - s - left],
        [0, 0],
      ];
      placed.push(tf.pad(patch, pad));
      masks.push(tf.pad(ones, pad));
    }
    const mask = tf.stack(masks) as tf.Tensor4D;
    return tf.add(tf.mul(images, tf.sub(1, mask)), tf.stack(placed)).reshape(x.shape);
  });
}

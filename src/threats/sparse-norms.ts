/**
 * Norm hooks for sparse and local threats on images `[batch, height, width, channels]`
 * (rank 2 inputs are one row of pixels; rank 3 have one channel). A pixel is one spatial
 * position, whatever its channels, because an attacker who touches a pixel may set all
 * of its channels. The budget (the threat's epsilon) is a whole number:
 *
 * - `l0`: at most `k` changed pixels; `distance` counts them.
 * - `patch`: every changed pixel inside one `s x s` box; `distance` is the side of the
 *   smallest square box holding every changed pixel (0 when nothing changed).
 * - `occlusion`: the same geometry as `patch` (an occluder is a patch of fixed content),
 *   kept as its own id so plans and reports say which threat was meant.
 *
 * Any change counts, however small: the wrapper's final check is exact, not thresholded.
 */
import * as tf from '@tensorflow/tfjs';
import type { Norm } from './norm-types.js';

export { SPARSE_NORM_IDS, type SparseNormId } from './norm-types.js';

/** Height, width and channels of the rows of a batch shape. */
export function pixelGeometry(shape: readonly number[]): { h: number; w: number; c: number } {
  if (shape.length <= 2) return { h: 1, w: shape[1] ?? 1, c: 1 };
  return { h: shape[1] as number, w: shape[2] as number, c: shape.slice(3).reduce((a, b) => a * b, 1) };
}

/** `[batch, h, w, c]` view of a batch of any rank. */
function asImages(t: tf.Tensor): tf.Tensor4D {
  const { h, w, c } = pixelGeometry(t.shape);
  return t.reshape([t.shape[0] ?? 1, h, w, c]);
}

/** 1 where any channel of a pixel changed, `[batch, h, w]`. */
function changedPixels(delta: tf.Tensor): tf.Tensor3D {
  return tf.cast(tf.greater(tf.max(tf.abs(asImages(delta)), 3), 0), 'float32') as tf.Tensor3D;
}

/** Per-pixel energy (sum of squares over channels), `[batch, h, w]`. */
function pixelEnergy(delta: tf.Tensor): tf.Tensor3D {
  return tf.sum(tf.square(asImages(delta)), 3) as tf.Tensor3D;
}

/** The extent (last - first + 1, 0 when empty) of the 1s of `[batch, n]` along axis 1. */
function extent(any: tf.Tensor2D): tf.Tensor1D {
  const n = any.shape[1];
  const position = tf.range(1, n + 1, 1, 'float32').reshape([1, n]);
  const last = tf.max(tf.mul(position, any), 1);
  const first = tf.min(tf.add(tf.mul(position, any), tf.mul(tf.sub(1, any), n + 1)), 1);
  return tf.relu(tf.add(tf.sub(last, first), 1)) as tf.Tensor1D;
}

/** Keeps the pixels where `mask` (`[batch, h, w]`, 0/1) is 1, in the delta's own shape. */
function keepPixels(delta: tf.Tensor, mask: tf.Tensor3D): tf.Tensor {
  return tf.mul(asImages(delta), tf.expandDims(mask, 3)).reshape(delta.shape);
}

/** A random start: uniform noise in [-1, 1] on every value (the projection makes it sparse, the bounds clip it). */
const randomNoise = (shape: readonly number[], _epsilon: number, seed: number): tf.Tensor =>
  tf.randomUniform([...shape], -1, 1, 'float32', seed);

/** Per-example L2 normalisation: the ascent direction of the sparse attacks before projection. */
function unitL2(gradient: tf.Tensor): tf.Tensor {
  const flat = gradient.reshape([gradient.shape[0] ?? 1, -1]);
  const size = tf.add(tf.sqrt(tf.sum(tf.square(flat), 1, true)), 1e-12);
  return tf.div(flat, size).reshape(gradient.shape);
}

export const l0: Norm = {
  id: 'l0',
  distance: (delta) => tf.sum(changedPixels(delta), [1, 2]) as tf.Tensor1D,
  project: (delta, k) => {
    const energy = pixelEnergy(delta);
    const [batch, h, w] = energy.shape;
    const pixels = h * w;
    const keep = Math.max(0, Math.floor(k));
    if (keep >= pixels) return tf.clone(delta);
    if (keep === 0) return tf.zerosLike(delta);
    // topk picks exactly `keep` distinct pixels, ties included, so the count is exact.
    const { indices } = tf.topk(energy.reshape([batch, pixels]), keep);
    const mask = tf.sum(tf.oneHot(indices, pixels), 1).reshape([batch, h, w]) as tf.Tensor3D;
    return keepPixels(delta, mask);
  },
  normalizeStep: unitL2,
  randomStart: randomNoise,
};

/** The side of the smallest square holding every changed pixel, per example. */
function boxDistance(delta: tf.Tensor): tf.Tensor1D {
  const changed = changedPixels(delta);
  const rows = tf.max(changed, 2) as tf.Tensor2D;
  const cols = tf.max(changed, 1) as tf.Tensor2D;
  return tf.maximum(extent(rows), extent(cols)) as tf.Tensor1D;
}

/**
 * A 0/1 mask `[batch, h, w]` of one box per example with top-left corners `top`, `left`
 * (`[batch]`, float) and sides `sh`, `sw`.
 */
export function boxMask(top: tf.Tensor1D, left: tf.Tensor1D, h: number, w: number, sh: number, sw: number): tf.Tensor3D {
  const batch = top.shape[0];
  const r = tf.range(0, h, 1, 'float32').reshape([1, h]);
  const c = tf.range(0, w, 1, 'float32').reshape([1, w]);
  const t = top.reshape([batch, 1]);
  const l = left.reshape([batch, 1]);
  const inRows = tf.logicalAnd(tf.greaterEqual(r, t), tf.less(r, tf.add(t, sh))).toFloat();
  const inCols = tf.logicalAnd(tf.greaterEqual(c, l), tf.less(c, tf.add(l, sw))).toFloat();
  return tf.mul(inRows.reshape([batch, h, 1]), inCols.reshape([batch, 1, w])) as tf.Tensor3D;
}

/** Projection onto "inside one s x s box": keeps the box of largest energy, zeroes the rest. */
function projectBox(delta: tf.Tensor, side: number): tf.Tensor {
  const energy = pixelEnergy(delta);
  const [batch, h, w] = energy.shape;
  const s = Math.max(0, Math.floor(side));
  if (s === 0) return tf.zerosLike(delta);
  const sh = Math.min(s, h);
  const sw = Math.min(s, w);
  if (sh === h && sw === w) return tf.clone(delta);
  const windows = tf.avgPool(energy.reshape([batch, h, w, 1]) as tf.Tensor4D, [sh, sw], 1, 'valid');
  const cols = w - sw + 1;
  const best = tf.argMax(windows.reshape([batch, -1]), 1).toFloat() as tf.Tensor1D;
  const top = tf.floor(tf.div(best, cols)) as tf.Tensor1D;
  const left = tf.sub(best, tf.mul(top, cols)) as tf.Tensor1D;
  return keepPixels(delta, boxMask(top, left, h, w, sh, sw));
}

export const patch: Norm = {
  id: 'patch',
  distance: boxDistance,
  project: projectBox,
  normalizeStep: (gradient) => tf.sign(gradient),
  randomStart: randomNoise,
};

export const occlusion: Norm = { ...patch, id: 'occlusion' };

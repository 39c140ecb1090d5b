/**
 * Norm hooks for the shared gradient-descent attack loop (after Foolbox 3). An L∞ and an
 * L2 attack differ only in these four functions; the loop itself is written once.
 * Every function works per example on a batch `[batch, ...]` and is meant to run inside
 * `tf.tidy`.
 */
import * as tf from '@tensorflow/tfjs';
import { UsageError, listChoices } from '../core/errors.js';
import { l0, occlusion, patch } from './sparse-norms.js';
import { NORM_IDS, SPARSE_NORM_IDS, type Norm, type NormId, type SparseNormId, type ThreatNormId } from './norm-types.js';

export { NORM_IDS, SPARSE_NORM_IDS, type Norm, type NormId, type SparseNormId, type ThreatNormId };

/** Every threat norm: the Lp norms and the sparse/local ones (see sparse-norms.ts). */
export const THREAT_NORM_IDS = [...NORM_IDS, ...SPARSE_NORM_IDS] as const;

/** Whether a norm id is one of the sparse/local threats, whose budget is a whole number of pixels. */
export function isSparseNorm(id: string): id is SparseNormId {
  return (SPARSE_NORM_IDS as readonly string[]).includes(id);
}

const TINY = 1e-12;

/** Reshapes a per-example vector `[batch]` to broadcast against `[batch, ...rest]`. */
function perExample(v: tf.Tensor1D, rank: number): tf.Tensor {
  return v.reshape([v.shape[0], ...new Array<number>(rank - 1).fill(1)]);
}

function flat(t: tf.Tensor): tf.Tensor2D {
  return t.reshape([t.shape[0] ?? 1, -1]);
}

export const linf: Norm = {
  id: 'linf',
  distance: (delta) => tf.max(tf.abs(flat(delta)), 1) as tf.Tensor1D,
  project: (delta, epsilon) => tf.clipByValue(delta, -epsilon, epsilon),
  normalizeStep: (gradient) => tf.sign(gradient),
  randomStart: (shape, epsilon, seed) => tf.randomUniform([...shape], -epsilon, epsilon, 'float32', seed),
};

function l2Norm(t: tf.Tensor): tf.Tensor1D {
  return tf.sqrt(tf.sum(tf.square(flat(t)), 1)) as tf.Tensor1D;
}

export const l2: Norm = {
  id: 'l2',
  distance: (delta) => l2Norm(delta),
  project: (delta, epsilon) => {
    const factor = tf.minimum(1, tf.div(epsilon, tf.add(l2Norm(delta), TINY))) as tf.Tensor1D;
    return tf.mul(delta, perExample(factor, delta.rank));
  },
  normalizeStep: (gradient) => tf.div(gradient, perExample(tf.add(l2Norm(gradient), TINY) as tf.Tensor1D, gradient.rank)),
  randomStart: (shape, epsilon, seed) => {
    // Uniform in the ball: a Gaussian direction scaled by epsilon * u^(1/d).
    const batch = shape[0] ?? 1;
    const dims = shape.slice(1).reduce((a, b) => a * b, 1);
    const direction = tf.randomNormal([...shape], 0, 1, 'float32', seed);
    const unit = tf.div(direction, perExample(tf.add(l2Norm(direction), TINY) as tf.Tensor1D, shape.length));
    const radius = tf.mul(epsilon, tf.pow(tf.randomUniform([batch], 0, 1, 'float32', seed + 1), 1 / dims)) as tf.Tensor1D;
    return tf.mul(unit, perExample(radius, shape.length));
  },
};

const NORMS: Record<ThreatNormId, Norm> = { linf, l2, l0, patch, occlusion };

/**
 * The norm hooks for an id.
 *
 * @throws UsageError `E_UNKNOWN_NORM` listing the valid norms.
 * @example
 * const norm = getNorm('linf');
 */
export function getNorm(id: string): Norm {
  if (!(THREAT_NORM_IDS as readonly string[]).includes(id)) {
    throw new UsageError('E_UNKNOWN_NORM', `Unknown norm '${id}'; use ${listChoices(THREAT_NORM_IDS)}.`, {
      details: { value: id, valid: THREAT_NORM_IDS },
    });
  }
  return NORMS[id as ThreatNormId];
}

/**
 * The id of a dense Lp norm (L∞ or L2), for the callers that take only those (the suite's curves, the CLI's `--norm`).
 *
 * @throws UsageError `E_UNKNOWN_NORM` for any other id, listing `linf` and `l2`.
 * @example const norm = lpNormId('linf');
 */
export function lpNormId(id: string): NormId {
  if (!(NORM_IDS as readonly string[]).includes(id)) {
    throw new UsageError('E_UNKNOWN_NORM', `Norm '${id}' is not one of ${listChoices(NORM_IDS)}, which this command takes.`, {
      details: { value: id, valid: NORM_IDS },
    });
  }
  return id as NormId;
}

/**
 * The norm ids and the hook interface, apart from the hooks themselves so the dense
 * (norms.ts) and sparse (sparse-norms.ts) implementations share them without a cycle.
 */
import type * as tf from '@tensorflow/tfjs';

/** The dense Lp norms: what the gradient and query attacks of an L∞/L2 threat take. */
export const NORM_IDS = ['linf', 'l2'] as const;
export type NormId = (typeof NORM_IDS)[number];

/** The sparse/local threats: `l0` (pixels), `patch` and `occlusion` (box side). */
export const SPARSE_NORM_IDS = ['l0', 'patch', 'occlusion'] as const;
export type SparseNormId = (typeof SPARSE_NORM_IDS)[number];

/** Every threat norm id. */
export type ThreatNormId = NormId | SparseNormId;

export interface Norm {
  readonly id: ThreatNormId;
  /** Per-example size of a perturbation, shape `[batch]`. */
  distance(delta: tf.Tensor): tf.Tensor1D;
  /** Nearest point of the epsilon-ball around zero (per example). */
  project(delta: tf.Tensor, epsilon: number): tf.Tensor;
  /** The steepest-ascent direction of unit norm for a gradient. */
  normalizeStep(gradient: tf.Tensor): tf.Tensor;
  /** A uniformly random point of the epsilon-ball, seeded. */
  randomStart(shape: readonly number[], epsilon: number, seed: number): tf.Tensor;
}

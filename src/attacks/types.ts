/** The attack contract shared by every perturbation in the library. */
import type * as tf from '@tensorflow/tfjs';
import type { Classifier } from '../models/classifier.js';
import type { ThreatModel } from '../threats/threat-model.js';

/**
 * What counts as success: any wrong class (untargeted) or one chosen class per example
 * (targeted). A value, not hidden state, so one attack object serves both.
 */
export type AttackGoal = { kind: 'untargeted' } | { kind: 'targeted'; targets: Int32Array };

export interface AttackProgress {
  /** Gradient (or query) steps done so far across restarts. */
  done: number;
  /** Upper bound on the steps this run can take. */
  total: number;
}

/**
 * The batch is rows `[offset, offset + n)` of a batch of `of` rows: an attack whose rows are
 * independent draws its random start for all `of` rows and keeps these, so each row comes
 * out bit for bit as it would in the whole batch. A worker pool uses it to split one seeded
 * shard across idle workers; attacks that couple rows (restarts, query budgets) ignore it.
 */
export interface RowWindow {
  offset: number;
  of: number;
}

export interface AttackRunOptions {
  goal?: AttackGoal;
  /** Seed for random starts and any sampling; defaults to 0. */
  seed?: number;
  /** Rows of a larger seeded batch (see {@link RowWindow}); default the whole batch. */
  window?: RowWindow;
  onProgress?: (progress: AttackProgress) => void;
}

export interface AttackResult {
  /** `[batch, ...inputShape]`, inside the threat ball and the bounds; the caller disposes it. */
  adversarial: tf.Tensor;
  /** 1 where the goal holds at `adversarial` (checked by a prediction at that exact point). */
  success: Uint8Array;
  /** Per-example size of `adversarial - x` in the threat's norm. */
  perturbation: Float32Array;
  /** Per-example model evaluations (forward or forward+backward passes) spent. */
  queries: Int32Array;
  /**
   * Minimum-norm attacks only (DeepFool, CW, HopSkipJump): the size, in the threat's norm,
   * of the smallest adversarial perturbation found with no epsilon limit (`Infinity` where
   * none was found). `adversarial` is that point when it lies within epsilon, else its
   * projection onto the ball. Gradient-masking checks read it.
   */
  minNorm?: Float32Array;
}

export interface Attack {
  /** Stable id, e.g. `pgd`. */
  readonly id: string;
  /** The resolved configuration, for reports. */
  readonly config: Readonly<object>;
  /**
   * Attacks a batch. Does not dispose `x`.
   *
   * @throws InputError when `x` or `labels` do not fit the model.
   * @throws GradientError when a white-box attack meets a non-differentiable model or NaN gradients.
   */
  run(model: Classifier, x: tf.Tensor, labels: Int32Array, threat: ThreatModel, options?: AttackRunOptions): Promise<AttackResult>;
}

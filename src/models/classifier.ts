/**
 * The one model interface every attack, defence and evaluation speaks. White-box models
 * expose differentiable logits through TF.js; a defence that transforms inputs wraps a
 * Classifier and is a Classifier, so attacks can target the defended model (adaptive
 * evaluation).
 */
import type * as tf from '@tensorflow/tfjs';
import type { Bounds } from '../core/types.js';
import { InputError } from '../core/errors.js';

export interface Classifier {
  /** Stable identifier used in reports, e.g. `cnn` or a registry digest. */
  readonly id: string;
  /** Per-example input shape, e.g. `[28, 28, 1]`. */
  readonly inputShape: readonly number[];
  readonly numClasses: number;
  /** Valid input range; attacks never leave it. */
  readonly bounds: Bounds;
  /** True when `logits` is differentiable with respect to its input (white-box). */
  readonly differentiable: boolean;
  /**
   * Unnormalised class scores for a batch `[batch, ...inputShape]`, shape `[batch, numClasses]`.
   * Must not dispose or keep its input; call inside `tf.tidy`.
   */
  logits(x: tf.Tensor): tf.Tensor2D;
  /**
   * What the target answers: input gradients (white box), scores, or labels only. Absent
   * means `gradients` when `differentiable`, else `scores`. Attacks declare the access they
   * need and the wrapper refuses a target that offers less.
   */
  readonly access?: TargetAccess;
  /**
   * Black-box targets (onnxruntime, HTTP endpoints) answer asynchronously and hold no TF.js
   * graph: they implement this, and their `logits` throws `E_NOT_WHITE_BOX`. Scores of
   * `count` row-major inputs, `[count * numClasses]` values (label-only targets return
   * one-hot rows). Every row is one counted query.
   */
  queryScores?(rows: Float32Array, count: number): Promise<Float32Array>;
}

/** Access levels, strongest first: each offers the ones after it. */
export const TARGET_ACCESS = ['gradients', 'scores', 'labels'] as const;
export type TargetAccess = (typeof TARGET_ACCESS)[number];

/** The access a target offers (see {@link Classifier.access}). */
export function accessOf(model: Pick<Classifier, 'access' | 'differentiable'>): TargetAccess {
  return model.access ?? (model.differentiable ? 'gradients' : 'scores');
}

/**
 * Checks that a batch matches the classifier's input shape.
 *
 * @throws InputError `E_INPUT_SHAPE` naming the expected and actual shapes.
 */
export function assertBatchShape(model: Pick<Classifier, 'inputShape' | 'id'>, shape: readonly number[], what = 'input batch'): void {
  const expected = model.inputShape;
  const ok = shape.length === expected.length + 1 && expected.every((d, i) => d === shape[i + 1]);
  if (!ok) {
    throw new InputError(
      'E_INPUT_SHAPE',
      `The ${what} has shape [${shape.join(', ')}] but model '${model.id}' takes [batch, ${expected.join(', ')}]; reshape the data or pick the matching model.`,
      { details: { expected: [null, ...expected], actual: shape } },
    );
  }
}

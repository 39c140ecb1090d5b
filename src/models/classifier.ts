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

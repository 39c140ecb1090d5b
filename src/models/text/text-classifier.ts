/**
 * The text-channel model interface. Text attacks are black-box first (they count
 * queries); a model that can also expose a differentiable path from its feature vector to
 * its logits offers `whiteBox`, which the gradient-guided search uses to rank words.
 * A defence that rewrites text (normalisation) wraps a TextClassifier and is one, so
 * attacks target the whole defended pipeline (adaptive evaluation).
 */
import type * as tf from '@tensorflow/tfjs';

export interface TextWhiteBox {
  /** Feature matrix `[texts.length, featureSize]` for a batch; the caller disposes it. */
  features(texts: readonly string[]): tf.Tensor2D;
  /** Logits `[batch, classes.length]` from features; differentiable; call inside `tf.tidy`. */
  logitsFromFeatures(features: tf.Tensor2D): tf.Tensor2D;
  /** The feature indices a single word contributes to (hashed n-grams), for gradient ranking. */
  featureIndicesOf(word: string): number[];
}

export interface TextClassifier {
  /** Stable identifier used in reports. */
  readonly id: string;
  /** Class names in output order, e.g. `['ham', 'spam']`. */
  readonly classes: readonly string[];
  /**
   * Class probabilities, one row per text, each row summing to 1. Every text in the call
   * is one query against the model.
   */
  predictProba(texts: readonly string[]): Promise<Float32Array[]>;
  /** Present on models whose features-to-logits path is a TF.js graph. */
  readonly whiteBox?: TextWhiteBox;
}

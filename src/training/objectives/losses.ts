/**
 * The pieces the objectives share: the training loss (the same mean cross-entropy as the
 * standard objective, so "no adversary" reproduces it bit for bit), the per-example KL
 * divergence TRADES uses, and the inference-mode logits an inner maximisation attacks.
 */
import * as tf from '@tensorflow/tfjs';

/** Mean softmax cross-entropy of raw logits against int labels, exactly as `standardObjective`. */
export function meanCrossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.losses.softmaxCrossEntropy(tf.oneHot(labels, logits.shape[1]), logits) as tf.Scalar;
}

/** Per-example KL(p ‖ q) `[batch]` from log-probabilities `p` and logits of `q`. */
export function klPerExample(logP: tf.Tensor2D, logitsQ: tf.Tensor2D): tf.Tensor1D {
  return tf.sum(tf.mul(tf.exp(logP), tf.sub(logP, tf.logSoftmax(logitsQ))), 1) as tf.Tensor1D;
}

/** Logits with the model in inference mode (dropout off), where adversarial inputs are searched. */
export function inferenceLogits(model: tf.LayersModel): (x: tf.Tensor) => tf.Tensor2D {
  return (x) => model.apply(x, { training: false }) as tf.Tensor2D;
}

/** Logits with the model in training mode, where the loss over the weights is taken. */
export function trainingLogits(model: tf.LayersModel, x: tf.Tensor): tf.Tensor2D {
  return model.apply(x, { training: true }) as tf.Tensor2D;
}

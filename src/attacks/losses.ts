/**
 * Per-example attack objectives, written so that the attacker always maximises them.
 * Cross-entropy is the Madry et al. default; the margin (Carlini-Wagner) loss does not
 * saturate when the softmax is confident, which matters against over-confident models.
 */
import * as tf from '@tensorflow/tfjs';

export const ATTACK_LOSSES = ['ce', 'margin'] as const;
export type AttackLoss = (typeof ATTACK_LOSSES)[number];

/** Per-example loss `[batch]` to maximise; `targeted` flips the sign of the objective. */
export function attackLoss(kind: AttackLoss, logits: tf.Tensor2D, labels: tf.Tensor1D, targeted: boolean): tf.Tensor1D {
  const numClasses = logits.shape[1];
  const onehot = tf.oneHot(labels, numClasses).toFloat();
  if (kind === 'ce') {
    const ce = tf.neg(tf.sum(tf.mul(onehot, tf.logSoftmax(logits)), 1)) as tf.Tensor1D;
    return targeted ? tf.neg(ce) : ce;
  }
  const labelScore = tf.sum(tf.mul(onehot, logits), 1);
  // Push the label's own score far down so max() picks the best other class.
  const otherBest = tf.max(tf.sub(logits, tf.mul(onehot, 1e9)), 1);
  return (targeted ? tf.sub(labelScore, otherBest) : tf.sub(otherBest, labelScore)) as tf.Tensor1D;
}

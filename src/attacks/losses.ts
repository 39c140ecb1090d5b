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

/**
 * The top `k` logits per example, largest first, as `k` tensors `[batch]`. Built from
 * max() and masking rather than topk(), which has no gradient in TF.js; the argmax masks
 * are constants, so the gradient flows to the selected logits as in a sort.
 */
function topLogits(logits: tf.Tensor2D, k: number): tf.Tensor1D[] {
  const numClasses = logits.shape[1];
  const out: tf.Tensor1D[] = [];
  let rest: tf.Tensor2D = logits;
  for (let j = 0; j < Math.min(k, numClasses); j++) {
    out.push(tf.max(rest, 1) as tf.Tensor1D);
    rest = tf.sub(rest, tf.mul(tf.oneHot(tf.argMax(rest, 1), numClasses).toFloat(), 1e9)) as tf.Tensor2D;
  }
  // Fewer classes than asked for: repeat the smallest, which keeps the scale positive.
  while (out.length < k) out.push(out[out.length - 1] as tf.Tensor1D);
  return out;
}

/**
 * The difference-of-logits-ratio loss of Croce & Hein 2020 (APGD-DLR), to maximise:
 * `-(z_y - max_{i≠y} z_i) / (z_π1 - z_π3)`, with `π` the logits sorted in decreasing
 * order. Invariant to shifting and rescaling the logits, so it cannot be masked by a
 * temperature. Needs at least three classes to be meaningful.
 */
export function dlrLoss(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Tensor1D {
  const numClasses = logits.shape[1];
  const onehot = tf.oneHot(labels, numClasses).toFloat();
  const labelScore = tf.sum(tf.mul(onehot, logits), 1);
  const otherBest = tf.max(tf.sub(logits, tf.mul(onehot, 1e9)), 1);
  const [z1, , z3] = topLogits(logits, 3) as [tf.Tensor1D, tf.Tensor1D, tf.Tensor1D];
  return tf.div(tf.sub(otherBest, labelScore), tf.add(tf.sub(z1, z3), 1e-12)) as tf.Tensor1D;
}

/**
 * The targeted DLR loss of APGD-T, to maximise: `-(z_y - z_t) / (z_π1 - (z_π3 + z_π4) / 2)`,
 * which pushes the target's logit above the true label's.
 */
export function targetedDlrLoss(logits: tf.Tensor2D, labels: tf.Tensor1D, targets: tf.Tensor1D): tf.Tensor1D {
  const numClasses = logits.shape[1];
  const labelScore = tf.sum(tf.mul(tf.oneHot(labels, numClasses).toFloat(), logits), 1);
  const targetScore = tf.sum(tf.mul(tf.oneHot(targets, numClasses).toFloat(), logits), 1);
  const [z1, , z3, z4] = topLogits(logits, 4) as [tf.Tensor1D, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D];
  const scale = tf.add(tf.sub(z1, tf.mul(0.5, tf.add(z3, z4))), 1e-12);
  return tf.div(tf.sub(targetScore, labelScore), scale) as tf.Tensor1D;
}

/**
 * Input gradients must exist: a loss gradient that is exactly zero or not finite for
 * many examples gives a gradient attack nothing to follow, so a high "robust accuracy"
 * would only measure that (shattered / vanishing / exploding gradients, Athalye et al.
 * 2018, §4). Measured for cross-entropy and for the margin loss: cross-entropy alone
 * vanishes in float32 when the softmax saturates, which the margin loss does not.
 */
import * as tf from '@tensorflow/tfjs';
import { attackLoss, type AttackLoss } from '../../attacks/losses.js';
import { ranges } from '../../core/tensors.js';
import { round, type MaskingCheck, type MaskingContext } from './types.js';

/** Per example: 1 where the input gradient of `loss` is all zero, and 1 where it holds NaN or Infinity. */
async function gradientFlags(ctx: MaskingContext, loss: AttackLoss): Promise<{ zero: number; nonFinite: number }> {
  let zero = 0;
  let nonFinite = 0;
  for (const [start, end] of ranges(ctx.count, 128)) {
    const flags = tf.tidy(() => {
      const x = tf.slice(ctx.x, [start], [end - start]);
      const labels = tf.tensor1d(ctx.labels.subarray(start, end), 'int32');
      const g = tf.grad((input: tf.Tensor) => tf.sum(attackLoss(loss, ctx.model.logits(input), labels, false)))(x);
      const rows = g.reshape([end - start, -1]);
      const finite = tf.all(tf.isFinite(rows), 1).toFloat();
      // NaN compares false, so a non-finite row never also counts as zero.
      const isZero = tf.equal(tf.max(tf.abs(rows), 1), 0).toFloat();
      return tf.stack([isZero, tf.sub(1, finite)]);
    });
    const v = await flags.data();
    flags.dispose();
    const n = end - start;
    for (let i = 0; i < n; i++) {
      zero += v[i] as number;
      nonFinite += v[n + i] as number;
    }
  }
  return { zero: zero / ctx.count, nonFinite: nonFinite / ctx.count };
}

export const gradientHealth: MaskingCheck = {
  id: 'gradients-nonzero-finite',
  title: 'Input gradients are non-zero and finite',
  async run(ctx) {
    const ce = await gradientFlags(ctx, 'ce');
    const margin = await gradientFlags(ctx, 'margin');
    const bad = Math.max(margin.zero, ce.nonFinite, margin.nonFinite);
    const status =
      bad > 0.5 || ce.nonFinite > 0 || margin.nonFinite > 0 ? 'fail' : bad > ctx.margin || ce.zero > ctx.margin ? 'warn' : 'pass';
    const measured = {
      zeroFractionCe: round(ce.zero),
      zeroFractionMargin: round(margin.zero),
      nonFiniteFractionCe: round(ce.nonFinite),
      nonFiniteFractionMargin: round(margin.nonFinite),
    };
    let explanation: string;
    if (status === 'pass')
      explanation = 'Every attacked example has a non-zero, finite input gradient under both cross-entropy and margin losses.';
    else if (ce.nonFinite > 0 || margin.nonFinite > 0)
      explanation = `Input gradients are NaN or infinite for ${round(Math.max(ce.nonFinite, margin.nonFinite))} of examples (exploding gradients). Gradient attacks fail there for numerical reasons, not because the model is robust. Look for log(0), division by a small number or an unstable custom layer; evaluate with black-box attacks meanwhile.`;
    else if (margin.zero > ctx.margin)
      explanation = `The input gradient is exactly zero for ${round(margin.zero)} of examples even under the margin loss. Something in the model (quantisation, rounding, thresholding, argmax or a clipped activation) stops gradients, so gradient attacks see a flat loss and the robust accuracy they report is meaningless. Attack through a differentiable approximation of that layer (BPDA, Athalye et al. 2018) and with black-box attacks.`;
    else
      explanation = `Cross-entropy gradients vanish for ${round(ce.zero)} of examples (the softmax saturates in float32), while margin-loss gradients do not. Attacks with the default cross-entropy loss will understate what an adversary can do: evaluate with loss 'margin' (Carlini-Wagner) as well.`;
    return { id: this.id, title: this.title, status, measured, explanation };
  },
};

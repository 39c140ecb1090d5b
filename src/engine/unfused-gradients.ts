/**
 * While a gradient is recorded, `tf.fused.conv2d` and `tf.fused.matMul` with a linear
 * activation (every conv layer followed by batch norm, every final dense layer) run as
 * their plain ops (conv2d / matMul, then the bias add) instead of the fused op.
 *
 * Why: TF.js already does this for the other activations, but a linear fused op records
 * one custom gradient that computes the gradients of all its inputs together. A PGD step
 * wants only the input gradient, yet paid for every filter gradient too: on ResNet-20 that
 * was Conv2DBackpropFilter, ~28% of the step. Recorded as plain ops, the tape prunes the
 * gradients no one asked for. Outside gradients (inference) the fused op still runs. The
 * arithmetic is the same ops in the same order, so results do not change.
 *
 * `tf.fused` is one mutable object shared by tfjs-core and tfjs-layers, so replacing its
 * two functions reaches every layer; `uninstallGradientUnfusing` puts them back.
 */
import * as tf from '@tensorflow/tfjs';

type FusedConv2d = typeof tf.fused.conv2d;
type FusedMatMul = typeof tf.fused.matMul;

let original: { conv2d: FusedConv2d; matMul: FusedMatMul } | undefined;

function recording(): boolean {
  return (tf.engine() as unknown as { state: { gradientDepth: number } }).state.gradientDepth > 0;
}

function linear(activation: string | undefined): boolean {
  return activation === undefined || activation === 'linear';
}

/**
 * Replaces `tf.fused.conv2d` and `tf.fused.matMul` by versions that record plain ops for a
 * linear activation while a gradient is taken. Idempotent.
 *
 * @example
 * installGradientUnfusing();
 * const g = tf.grad((x) => model.apply(x).sum())(x); // no filter gradients computed
 */
export function installGradientUnfusing(): void {
  if (original !== undefined) return;
  const fused = tf.fused as { conv2d: FusedConv2d; matMul: FusedMatMul };
  const saved = { conv2d: fused.conv2d, matMul: fused.matMul };
  original = saved;
  fused.conv2d = ((args: Parameters<FusedConv2d>[0]) => {
    if (!recording() || !linear(args.activation) || (args.dataFormat ?? 'NHWC') !== 'NHWC') return saved.conv2d(args);
    return tf.tidy(() => {
      const y = tf.conv2d(args.x, args.filter, args.strides, args.pad, 'NHWC', args.dilations, args.dimRoundingMode);
      return args.bias == null ? y : tf.add(y, args.bias);
    });
  }) as FusedConv2d;
  fused.matMul = ((args: Parameters<FusedMatMul>[0]) => {
    if (!recording() || !linear(args.activation)) return saved.matMul(args);
    return tf.tidy(() => {
      const y = tf.matMul(args.a, args.b, args.transposeA, args.transposeB);
      return args.bias == null ? y : tf.add(y, args.bias);
    });
  }) as FusedMatMul;
}

/** Puts the fused ops back. */
export function uninstallGradientUnfusing(): void {
  if (original === undefined) return;
  const fused = tf.fused as { conv2d: FusedConv2d; matMul: FusedMatMul };
  fused.conv2d = original.conv2d;
  fused.matMul = original.matMul;
  original = undefined;
}

/** Whether `installGradientUnfusing` is in effect. */
export function gradientUnfusingActive(): boolean {
  return original !== undefined;
}

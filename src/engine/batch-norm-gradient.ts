/**
 * FusedBatchNorm's gradient, computing only what is asked for.
 *
 * Why: tfjs-core's gradient computes x - mean and dy * scale over the whole activation
 * before it knows which derivatives the tape wants, then builds the input derivative as
 * dy times a Tile of the per-channel factor times scale: four full passes and a tiled copy
 * where one pass does. An attack step (batch norm in inference mode, only the input
 * gradient wanted) paid that at every batch-norm layer, ~8% of a ResNet-20 PGD step. Here
 * each derivative is a thunk that computes its own intermediates, and the input derivative
 * is dy times the broadcast per-channel factor scale / sqrt(variance + epsilon). The other
 * derivatives are tfjs-core's formulas unchanged. The gradient registry is global, so this
 * applies on every backend; `uninstall…` puts tfjs-core's back.
 */
import * as tf from '@tensorflow/tfjs';

let original: tf.GradConfig | undefined;

const config: tf.GradConfig = {
  kernelName: tf.FusedBatchNorm,
  inputsToSave: ['x', 'mean', 'variance', 'scale'],
  gradFunc: (dy, saved, attrs) => {
    const dyT = dy as tf.Tensor;
    const { varianceEpsilon } = attrs as unknown as tf.FusedBatchNormAttrs;
    const [x, mean, variance, scale] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor | undefined];
    const scaleValue = scale ?? tf.scalar(1);
    const reductionAxes = tf.backend_util.getReductionAxes(mean.shape, x.shape);
    const perChannel = (t: tf.Tensor) => (mean.rank === 1 && reductionAxes.length > 0 ? tf.sum(t, reductionAxes) : t);
    const rsqrt = () => tf.rsqrt(tf.add(variance, tf.scalar(varianceEpsilon)));
    const xMinusMean = () => tf.sub(x, mean);
    const dyTimesScale = () => tf.mul(dyT, scaleValue);
    return {
      x: () => tf.reshape(tf.mul(dyT, tf.mul(rsqrt(), scaleValue)), x.shape),
      mean: () => tf.reshape(perChannel(tf.mul(tf.mul(rsqrt(), tf.scalar(-1)), dyTimesScale())), mean.shape),
      variance: () => {
        const r = rsqrt();
        const minusHalfRCube = tf.mul(tf.mul(tf.mul(r, r), r), tf.scalar(-0.5));
        return tf.reshape(perChannel(tf.mul(tf.mul(minusHalfRCube, xMinusMean()), dyTimesScale())), mean.shape);
      },
      scale: () => tf.reshape(perChannel(tf.mul(dyT, tf.mul(xMinusMean(), rsqrt()))), mean.shape),
      offset: () => tf.reshape(perChannel(dyT), mean.shape),
    };
  },
};

/**
 * Registers the lazy FusedBatchNorm gradient over tfjs-core's. Idempotent.
 *
 * @example
 * installBatchNormGradient();
 * const g = tf.grad((x) => model.apply(x).sum())(x); // one pass per batch-norm layer
 */
export function installBatchNormGradient(): void {
  if (original !== undefined) return;
  const current = tf.getGradient(tf.FusedBatchNorm);
  if (current === undefined) return;
  original = current;
  tf.registerGradient(config);
}

/** Puts tfjs-core's FusedBatchNorm gradient back. */
export function uninstallBatchNormGradient(): void {
  if (original === undefined) return;
  tf.registerGradient(original);
  original = undefined;
}

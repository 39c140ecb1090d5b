/**
 * Training-mode batch normalisation as one recorded op on the wasm backend.
 *
 * Why: a tfjs-layers BatchNormalization layer in training mode computes the batch
 * statistics with `tf.moments` (Mean, Sub, Square, Mean) and then `tf.batchNorm`; its
 * gradient runs FusedBatchNorm's gradient op by op and then back through the moments,
 * ~25 full passes over the activation plus as many temporaries. On ResNet-20 that was
 * about a third of a training step's kernel time and a large share of its peak memory.
 * Here the layer's training-mode call runs the statistics kernel, the (SIMD) FusedBatchNorm
 * kernel, and one gradient kernel under `tf.customGrad`: two passes forward, two back
 * (kernels/batch-norm.ts). The moving averages update exactly as the layer does it.
 *
 * The layer class is shared by every model tfjs-layers builds, so replacing its `call`
 * reaches them all; the replacement defers to the original call whenever it does not
 * apply (inference, another backend, no SIMD, a layer without centre or scale, a
 * normalised axis other than the last, a channel count not divisible by 4).
 * `uninstallBatchNormTraining` puts the original back.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

import { BATCH_NORM_GRAD, BATCH_NORM_MOMENTS, batchNormChannels } from './kernels/batch-norm.js';
import { simdKernels } from './simd/index.js';

/** The fields of tfjs-layers' BatchNormalization that the training call reads. */
interface BatchNormLayer {
  axis: number | number[];
  momentum: number;
  epsilon: number;
  gamma: tf.LayerVariable | null;
  beta: tf.LayerVariable | null;
  movingMean: tf.LayerVariable;
  movingVariance: tf.LayerVariable;
}
type CallFn = (this: BatchNormLayer, inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>) => tf.Tensor | tf.Tensor[];

let original: { proto: { call: CallFn }; call: CallFn } | undefined;

/** Whether the fused route applies to `x` on the current backend. */
export function batchNormTrainingSupported(x: tf.Tensor): boolean {
  if (tf.getBackend() !== 'wasm' || tf.getKernel(BATCH_NORM_GRAD, 'wasm') === undefined) return false;
  if (tf.getKernel(BATCH_NORM_MOMENTS, 'wasm') === undefined) return false;
  if (simdKernels(tf.backend() as BackendWasm) === undefined) return false;
  return batchNormChannels(x, []) !== undefined;
}

/**
 * y = (x - mean) / sqrt(variance + epsilon) * gamma + beta with the batch's per-channel
 * statistics over every axis but the last, recorded as one op whose gradient (for x, gamma
 * and beta, through the statistics) is one kernel. Also returns the statistics (biased
 * variance, as tfjs-layers uses for its moving average); they carry no gradient, and the
 * caller disposes them (no enclosing `tf.tidy` will). Preconditions: `batchNormTrainingSupported(x)`, gamma and beta of shape [channels].
 *
 * @example
 * const { y, mean, variance } = batchNormTraining(x, gamma, beta, 1e-5);
 */
export function batchNormTraining(
  x: tf.Tensor,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  epsilon: number,
): { y: tf.Tensor; mean: tf.Tensor; variance: tf.Tensor } {
  let stats: tf.Tensor[] = [];
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xi, g, b, save] = args as [tf.Tensor, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
    // Kept: the engine runs a custom op's forward in a tidy, and the caller needs these.
    stats = (tf.engine().runKernel(BATCH_NORM_MOMENTS, { x: xi }, {}) as tf.Tensor[]).map((t) => tf.keep(t));
    const [mean, variance] = stats as [tf.Tensor1D, tf.Tensor1D];
    const value = tf.batchNorm(xi, mean, variance, b, g, epsilon);
    save([xi, mean, variance, g]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sm, sv, sg] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
        const inputs = { x: sx, dy, mean: sm, variance: sv, gamma: sg };
        return tf.engine().runKernel(BATCH_NORM_GRAD, inputs, { varianceEpsilon: epsilon }) as tf.Tensor[];
      },
    };
  });
  const y = op(x, gamma, beta);
  return { y, mean: stats[0]!, variance: stats[1]! };
}

function lastAxis(axis: number | number[], rank: number): boolean {
  const a = Array.isArray(axis) ? (axis.length === 1 ? axis[0]! : Number.NaN) : axis;
  return a === -1 || a === rank - 1;
}

/**
 * Makes every tfjs-layers BatchNormalization layer run its training-mode call through
 * `batchNormTraining` where that applies. Idempotent.
 *
 * @example
 * installBatchNormTraining();
 * optimizer.minimize(() => loss(model.apply(x, { training: true })));
 */
export function installBatchNormTraining(): void {
  if (original !== undefined) return;
  const probe = tf.layers.batchNormalization({});
  const proto = Object.getPrototypeOf(probe) as { call: CallFn };
  const call = proto.call;
  original = { proto, call };
  proto.call = function (this: BatchNormLayer, inputs, kwargs) {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    const training = kwargs['training'] === true;
    if (!training || x === undefined || (Array.isArray(inputs) && inputs.length !== 1)) return call.call(this, inputs, kwargs);
    if (this.gamma === null || this.beta === null || !lastAxis(this.axis, x.rank) || !batchNormTrainingSupported(x)) {
      return call.call(this, inputs, kwargs);
    }
    return tf.tidy(() => {
      const { y, mean, variance } = batchNormTraining(x, this.gamma!.read(), this.beta!.read(), this.epsilon);
      // The layer's own moving-average update: v -= (v - value) * (1 - momentum).
      for (const [variable, value] of [
        [this.movingMean, mean],
        [this.movingVariance, variance],
      ] as const) {
        tf.tidy(() => {
          const current = variable.read();
          variable.write(tf.sub(current, tf.mul(tf.sub(current, value), 1 - this.momentum)));
        });
      }
      tf.dispose([mean, variance]);
      return y;
    });
  };
}

/** Puts the layer's own training-mode call back. */
export function uninstallBatchNormTraining(): void {
  if (original === undefined) return;
  original.proto.call = original.call;
  original = undefined;
}

/**
 * The two workloads that `bench/engine.ts` times and `scripts/profile.ts` profiles, on
 * `buildModel('cnn', …)` (conv3x3-32 relu, pool2, conv3x3-64 relu, pool2, dense128 relu,
 * dense10) with 28x28x1 inputs in [0, 1]:
 *
 * - one L∞ PGD step: forward, cross-entropy, backward to the input, then Rampart's
 *   `ascentStep` (sign step, projection to the ball, clip to the bounds);
 * - one PGD-AT training step: a random start and 10 such steps (Rampart's `perturb`),
 *   then forward + backward + one Adam update of the weights on the adversarial batch.
 *
 * bench/torch_engine.py does the same arithmetic in PyTorch. Inputs and labels are
 * seeded noise: the cost of these steps does not depend on the values.
 */
import * as tf from '@tensorflow/tfjs';

import { attackLoss } from '../src/attacks/losses.js';
import { ascentStep, perturb } from '../src/attacks/image/ascent.js';
import { buildModel } from '../src/models/architectures.js';
import { linf } from '../src/threats/norms.js';
import { threatModel, type ThreatModel } from '../src/threats/threat-model.js';

/** Madry et al.'s MNIST threat, and the PGD-AT inner loop's steps and step size. */
export const PGD_SETTINGS = { epsilon: 0.3, attackSteps: 10, stepSize: 0.075, learningRate: 1e-3 } as const;

export interface CnnWorkload {
  readonly batch: number;
  /** One PGD step from the current point; returns the next point (the caller disposes `current`). */
  pgdStep(current: tf.Tensor): tf.Tensor;
  /** Forward + backward to the input only (no ascent step): what `tf.profile` should see. */
  inputGradient(current: tf.Tensor): tf.Tensor;
  /** One PGD-AT step: 10 attack steps, then one Adam update of the weights. */
  pgdAtStep(): void;
  /** Forward + backward + Adam update on the clean batch (a plain training step). */
  trainStep(): void;
  /** The clean batch, a valid starting point for `pgdStep`. */
  readonly x: tf.Tensor;
  dispose(): void;
}

/** A threat budget and the PGD-AT inner loop's steps and step size, plus Adam's learning rate. */
export interface StepSettings {
  readonly epsilon: number;
  readonly attackSteps: number;
  readonly stepSize: number;
  readonly learningRate: number;
}

/**
 * The workloads on any image classifier given as a LayersModel (NHWC inputs in [0, 1]) with
 * a seeded batch of noise: the attack sees the model in inference mode, the weight update in
 * training mode (batch norm's batch statistics, as Rampart's `pgd-at` objective and PyTorch's
 * `model.eval()` / `model.train()` do; the same for a net without batch norm or dropout).
 * `dispose` also disposes the model when `ownsModel`.
 */
export function createWorkloadOn(
  model: tf.LayersModel,
  o: { inputShape: readonly number[]; numClasses: number; batch: number; seed: number; settings: StepSettings; ownsModel: boolean },
): CnnWorkload {
  const { batch, seed, settings, numClasses } = o;
  const x = tf.randomUniform([batch, ...o.inputShape], 0, 1, 'float32', seed);
  const labels = tf.tidy(
    () =>
      tf
        .randomUniform([batch], 0, numClasses, 'float32', seed + 1)
        .floor()
        .toInt() as tf.Tensor1D,
  );
  const onehot = tf.oneHot(labels, numClasses);
  const threat: ThreatModel = threatModel({ norm: 'linf', epsilon: settings.epsilon });
  const optimizer = tf.train.adam(settings.learningRate);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const logits = (input: tf.Tensor) => model.apply(input, { training: false }) as tf.Tensor2D;
  const objective = (z: tf.Tensor2D) => attackLoss('ce', z, labels, false);
  const gradientOf = tf.grad((input: tf.Tensor) => tf.sum(objective(logits(input))));
  const trainingLoss = (input: tf.Tensor) =>
    tf.losses.softmaxCrossEntropy(onehot, model.apply(input, { training: true }) as tf.Tensor2D) as tf.Scalar;
  let round = 0;
  const inputGradient = (current: tf.Tensor) => tf.tidy(() => gradientOf(current));
  return {
    batch,
    x,
    inputGradient,
    pgdStep(current) {
      const gradient = inputGradient(current);
      const next = ascentStep(x, current, gradient, linf, threat, settings.stepSize);
      gradient.dispose();
      return next;
    },
    pgdAtStep() {
      round++;
      const adversarial = perturb(x, {
        objective,
        logits,
        norm: linf,
        threat,
        steps: settings.attackSteps,
        stepSize: settings.stepSize,
        randomStart: true,
        seed: seed + round,
      });
      tf.tidy(() => {
        optimizer.minimize(() => trainingLoss(adversarial), false, vars);
      });
      adversarial.dispose();
    },
    trainStep() {
      tf.tidy(() => {
        optimizer.minimize(() => trainingLoss(x), false, vars);
      });
    },
    dispose() {
      optimizer.dispose();
      if (o.ownsModel) model.dispose();
      tf.dispose([x, labels, onehot]);
    },
  };
}

/**
 * Builds the CNN and a seeded batch.
 *
 * @example
 * const w = createCnnWorkload(128);
 * const next = w.pgdStep(w.x);
 */
export function createCnnWorkload(batch: number, seed = 1): CnnWorkload {
  const model = buildModel('cnn', { inputShape: [28, 28, 1], numClasses: 10, seed });
  return createWorkloadOn(model, { inputShape: [28, 28, 1], numClasses: 10, batch, seed, settings: PGD_SETTINGS, ownsModel: true });
}

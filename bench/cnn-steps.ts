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

/**
 * Builds the CNN and a seeded batch.
 *
 * @example
 * const w = createCnnWorkload(128);
 * const next = w.pgdStep(w.x);
 */
export function createCnnWorkload(batch: number, seed = 1): CnnWorkload {
  const model = buildModel('cnn', { inputShape: [28, 28, 1], numClasses: 10, seed });
  const x = tf.randomUniform([batch, 28, 28, 1], 0, 1, 'float32', seed);
  const labels = tf.tidy(
    () =>
      tf
        .randomUniform([batch], 0, 10, 'float32', seed + 1)
        .floor()
        .toInt() as tf.Tensor1D,
  );
  const onehot = tf.oneHot(labels, 10);
  const threat: ThreatModel = threatModel({ norm: 'linf', epsilon: PGD_SETTINGS.epsilon });
  const optimizer = tf.train.adam(PGD_SETTINGS.learningRate);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const logits = (input: tf.Tensor) => model.apply(input) as tf.Tensor2D;
  const objective = (z: tf.Tensor2D) => attackLoss('ce', z, labels, false);
  const gradientOf = tf.grad((input: tf.Tensor) => tf.sum(objective(logits(input))));
  const meanLoss = (input: tf.Tensor) => tf.losses.softmaxCrossEntropy(onehot, logits(input)) as tf.Scalar;
  let round = 0;

  const inputGradient = (current: tf.Tensor) => tf.tidy(() => gradientOf(current));
  return {
    batch,
    x,
    inputGradient,
    pgdStep(current) {
      const gradient = inputGradient(current);
      const next = ascentStep(x, current, gradient, linf, threat, PGD_SETTINGS.stepSize);
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
        steps: PGD_SETTINGS.attackSteps,
        stepSize: PGD_SETTINGS.stepSize,
        randomStart: true,
        seed: seed + round,
      });
      tf.tidy(() => {
        optimizer.minimize(() => meanLoss(adversarial), false, vars);
      });
      adversarial.dispose();
    },
    trainStep() {
      tf.tidy(() => {
        optimizer.minimize(() => meanLoss(x), false, vars);
      });
    },
    dispose() {
      optimizer.dispose();
      model.dispose();
      tf.dispose([x, labels, onehot]);
    },
  };
}

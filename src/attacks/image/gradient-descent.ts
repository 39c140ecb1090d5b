/**
 * The one gradient-descent loop behind the first-order image attacks (FGSM, PGD).
 * Per-norm behaviour comes from the `Norm` hooks; per-attack behaviour from the config;
 * the start-up and final checks from the attack wrapper, the restarts from `bestOfRuns`.
 * Within a run the loop keeps, per example, the best point it has seen: the first point
 * that meets the goal, else the point of highest loss.
 */
import * as tf from '@tensorflow/tfjs';
import { attackLoss, type AttackLoss } from '../losses.js';
import { wrapAttack, type AttackContext, type AttackOutcome } from '../wrapper.js';
import { ascentStep, startingPoint } from './ascent.js';
import { observe } from './loss-gradient.js';
import { bestOfRuns, type RunOutcome } from './restarts.js';
import type { Projection } from '../../threats/tabular/project.js';
import type { RowWindow } from '../types.js';

export interface GradientDescentConfig {
  /** Gradient steps per restart. */
  steps: number;
  /** Step size as a multiple of epsilon; ignored when `stepSize` is set. */
  relativeStepSize: number;
  /** Absolute step size in the threat's norm. */
  stepSize?: number;
  /** Start from a uniformly random point of the ball instead of the clean input. */
  randomStart: boolean;
  /** Independent runs; each later run attacks only the examples still unbroken. */
  restarts: number;
  loss: AttackLoss;
  /** Forward passes averaged per step (expectation over transformation); default 1. */
  eotSamples?: number;
  /** The feasible set's projection (tabular constraints); default the ball and the bounds. */
  project?: Projection;
}

interface SingleRun {
  context: AttackContext;
  x: tf.Tensor;
  targets: Int32Array;
  config: GradientDescentConfig;
  seed: number;
  /** The rows' place in the seeded batch (first run only: later runs attack a subset). */
  window?: RowWindow;
  onStep: () => void;
}

async function runOnce(run: SingleRun): Promise<RunOutcome> {
  const { context, x, targets, config } = run;
  const { model, norm, threat, targeted } = context;
  const alpha = config.stepSize ?? config.relativeStepSize * threat.epsilon;
  const samples = config.eotSamples ?? 1;
  const n = targets.length;
  const targetTensor = tf.tensor1d(targets, 'int32');
  const objective = (logits: tf.Tensor2D): tf.Tensor1D => attackLoss(config.loss, logits, targetTensor, targeted);
  let current = startingPoint(x, norm, threat, config.randomStart, run.seed, config.project, run.window);
  let best = tf.clone(current);
  const success = new Uint8Array(n);
  const bestLoss = new Float32Array(n).fill(-Infinity);
  let queries = 0;
  try {
    for (let step = 0; step <= config.steps; step++) {
      const last = step === config.steps;
      const seen = await observe(model, current, objective, { gradient: !last, samples, where: `step ${step}` });
      queries += samples;
      const improved = new Uint8Array(n);
      let anyImproved = false;
      let allDone = true;
      for (let i = 0; i < n; i++) {
        const pred = seen.predicted[i] as number;
        const lossValue = seen.loss[i] as number;
        const hit = targeted ? pred === targets[i] : pred !== targets[i];
        if (!success[i] && (hit || lossValue > (bestLoss[i] as number))) {
          improved[i] = 1;
          anyImproved = true;
          bestLoss[i] = lossValue;
          if (hit) success[i] = 1;
        }
        if (!success[i]) allDone = false;
      }
      if (anyImproved) {
        // A broadcast blend, not tf.where: where() with a per-example condition tiles the
        // mask on wasm and costs seconds per call; with 0/1 weights the blend is exact.
        const keep = best;
        best = tf.tidy(() => {
          const mask = tf.tensor(improved, [n, ...new Array<number>(x.rank - 1).fill(1)], 'float32');
          return tf.add(tf.mul(current, mask), tf.mul(keep, tf.sub(1, mask)));
        });
        keep.dispose();
      }
      if (last || allDone) {
        seen.gradient?.dispose();
        break;
      }
      const gradient = seen.gradient as tf.Tensor;
      const next = ascentStep(x, current, gradient, norm, threat, alpha, config.project);
      gradient.dispose();
      current.dispose();
      current = next;
      run.onStep();
    }
    const adversarial = (await best.data()) as Float32Array;
    return { success, loss: bestLoss, queries, adversarial };
  } finally {
    current.dispose();
    best.dispose();
    targetTensor.dispose();
  }
}

/** The loop as a search, for wrappers that add their own checks (tabular attacks). */
export async function gradientDescentSearch(context: AttackContext, config: GradientDescentConfig): Promise<AttackOutcome> {
  const best = await bestOfRuns(context, {
    runs: config.restarts,
    stepsPerRun: config.steps,
    run: (subset, rows, restart, onStep) => {
      const targets = Int32Array.from(rows, (i) => context.goalClasses[i] as number);
      // Only the first run sees every row; a restart's subset depends on the whole batch.
      const window = restart === 0 ? context.window : undefined;
      return runOnce({ context, x: subset, targets, config, seed: context.seed + 7919 * restart, ...(window ? { window } : {}), onStep });
    },
  });
  return { adversarial: tf.tensor(best.points, context.x.shape), success: best.success, queries: best.queries };
}

/**
 * Runs the shared first-order attack loop on a batch.
 *
 * @throws InputError for a batch or labels that do not fit the model (see validateAttackInputs).
 * @throws GradientError `E_NOT_DIFFERENTIABLE` for a black-box model, `E_GRADIENT_NONFINITE` for NaN gradients.
 * @example
 * const config = { steps: 10, relativeStepSize: 0.25, randomStart: true, restarts: 1, loss: 'ce' as const };
 * const result = await gradientDescentAttack(model, x, labels, threat, config);
 */
export const gradientDescentAttack = wrapAttack('gradient descent', 'gradients', gradientDescentSearch);

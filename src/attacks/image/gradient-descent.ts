/**
 * The one gradient-descent loop behind every first-order image attack (FGSM, PGD, and
 * later APGD-style variants). Per-norm behaviour comes from the `Norm` hooks; per-attack
 * behaviour from the config. The loop keeps, per example, the best point it has seen:
 * the first point that meets the goal, else the point of highest loss. So more steps or
 * restarts can never make the result weaker, and the success flags describe exactly the
 * stored points.
 */
import * as tf from '@tensorflow/tfjs';
import { GradientError } from '../../core/errors.js';
import { sizeOf } from '../../core/types.js';
import type { Classifier } from '../../models/classifier.js';
import { getNorm, type Norm } from '../../threats/norms.js';
import type { ThreatModel } from '../../threats/threat-model.js';
import { attackLoss, type AttackLoss } from '../losses.js';
import type { AttackResult, AttackRunOptions } from '../types.js';
import { validateAttackInputs } from '../validate.js';
import { ascentStep, startingPoint } from './ascent.js';

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
}

interface Evaluation {
  logits: tf.Tensor2D;
  loss: tf.Tensor1D;
  gradient?: tf.Tensor;
}

function evaluate(model: Classifier, xa: tf.Tensor, targets: tf.Tensor1D, lossKind: AttackLoss, targeted: boolean, withGradient: boolean): Evaluation {
  if (!withGradient) {
    return tf.tidy(() => {
      const logits = model.logits(xa);
      return { logits, loss: attackLoss(lossKind, logits, targets, targeted) };
    });
  }
  let logits: tf.Tensor2D | undefined;
  let loss: tf.Tensor1D | undefined;
  const gradient = tf.tidy(() =>
    tf.grad((input: tf.Tensor) => {
      const z = model.logits(input);
      const l = attackLoss(lossKind, z, targets, targeted);
      // Kept past the tidy: the same forward pass gives both the step and the success check.
      logits = tf.keep(z);
      loss = tf.keep(l);
      return tf.sum(l);
    })(xa),
  );
  return { logits: logits as unknown as tf.Tensor2D, loss: loss as unknown as tf.Tensor1D, gradient };
}

interface RunState {
  success: Uint8Array;
  loss: Float32Array;
  queries: number;
  adversarial: Float32Array;
}

interface SingleRun {
  model: Classifier;
  x: tf.Tensor;
  targets: Int32Array;
  targeted: boolean;
  norm: Norm;
  threat: ThreatModel;
  config: GradientDescentConfig;
  seed: number;
  onStep: () => void;
}

async function runOnce(run: SingleRun): Promise<RunState> {
  const { model, x, targets, targeted, norm, threat, config } = run;
  const { epsilon } = threat;
  const alpha = config.stepSize ?? config.relativeStepSize * epsilon;
  const n = targets.length;
  const targetTensor = tf.tensor1d(targets, 'int32');
  let current = startingPoint(x, norm, threat, config.randomStart, run.seed);
  let best = tf.clone(current);
  const success = new Uint8Array(n);
  const bestLoss = new Float32Array(n).fill(-Infinity);
  let queries = 0;
  try {
    for (let step = 0; step <= config.steps; step++) {
      const last = step === config.steps;
      const ev = evaluate(model, current, targetTensor, config.loss, targeted, !last);
      queries++;
      const summary = tf.tidy(() => {
        const parts = [tf.argMax(ev.logits, 1).toFloat(), ev.loss];
        if (ev.gradient) parts.push(tf.isFinite(tf.sum(tf.abs(ev.gradient))).toFloat().reshape([1]));
        return tf.concat(parts);
      });
      const values = await summary.data();
      summary.dispose();
      ev.logits.dispose();
      ev.loss.dispose();
      if (ev.gradient && values[2 * n] !== 1) {
        ev.gradient.dispose();
        throw new GradientError('E_GRADIENT_NONFINITE', `Model '${model.id}' produced NaN or infinite input gradients at step ${step}; check the model for log(0) or division by zero, or use a black-box attack.`);
      }
      const improved = new Uint8Array(n);
      let anyImproved = false;
      let allDone = true;
      for (let i = 0; i < n; i++) {
        const pred = values[i] as number;
        const lossValue = values[n + i] as number;
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
        ev.gradient?.dispose();
        break;
      }
      const gradient = ev.gradient as tf.Tensor;
      const next = ascentStep(x, current, gradient, norm, threat, alpha);
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

/**
 * Runs the shared first-order attack loop on a batch.
 *
 * @throws InputError for a batch or labels that do not fit the model (see validateAttackInputs).
 * @throws GradientError `E_NOT_DIFFERENTIABLE` for a black-box model, `E_GRADIENT_NONFINITE` for NaN gradients.
 */
export async function gradientDescentAttack(
  model: Classifier,
  x: tf.Tensor,
  labels: Int32Array,
  threat: ThreatModel,
  config: GradientDescentConfig,
  options: AttackRunOptions = {},
): Promise<AttackResult> {
  const goal = options.goal ?? { kind: 'untargeted' };
  const targets = await validateAttackInputs(model, x, labels, threat, goal);
  if (!model.differentiable) {
    throw new GradientError('E_NOT_DIFFERENTIABLE', `Model '${model.id}' exposes no gradients; use a black-box attack against it.`);
  }
  const norm = getNorm(threat.norm);
  const batch = labels.length;
  const rowSize = sizeOf(model.inputShape);
  const best = Float32Array.from(await x.data());
  const success = new Uint8Array(batch);
  const bestLoss = new Float32Array(batch).fill(-Infinity);
  const queries = new Int32Array(batch);
  const total = config.steps * config.restarts;
  let done = 0;
  const seed = options.seed ?? 0;

  for (let restart = 0; restart < config.restarts; restart++) {
    const remaining: number[] = [];
    for (let i = 0; i < batch; i++) if (!success[i]) remaining.push(i);
    if (remaining.length === 0) break;
    const indices = tf.tensor1d(remaining, 'int32');
    const subset = remaining.length === batch ? tf.clone(x) : tf.gather(x, indices);
    indices.dispose();
    let state: RunState;
    try {
      state = await runOnce({
        model,
        x: subset,
        targets: Int32Array.from(remaining, (i) => targets[i] as number),
        targeted: goal.kind === 'targeted',
        norm,
        threat,
        config,
        seed: seed + 7919 * restart,
        onStep: () => options.onProgress?.({ done: ++done, total }),
      });
    } finally {
      subset.dispose();
    }
    remaining.forEach((row, k) => {
      queries[row] = (queries[row] as number) + state.queries;
      if (state.success[k] || (state.loss[k] as number) > (bestLoss[row] as number)) {
        success[row] = state.success[k] as number;
        bestLoss[row] = state.loss[k] as number;
        best.set(state.adversarial.subarray(k * rowSize, (k + 1) * rowSize), row * rowSize);
      }
    });
    done = (restart + 1) * config.steps;
    options.onProgress?.({ done, total });
  }
  const adversarial = tf.tensor(best, x.shape);
  const distance = tf.tidy(() => norm.distance(tf.sub(adversarial, x)));
  const perturbation = (await distance.data()) as Float32Array;
  distance.dispose();
  return { adversarial, success, perturbation, queries };
}

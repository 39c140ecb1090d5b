/**
 * APGD — "Reliable evaluation of adversarial robustness with an ensemble of diverse
 * parameter-free attacks", Croce & Hein, ICML 2020, https://arxiv.org/abs/2003.01690
 *
 * Norm: L∞ or L2, from the threat model (the shared norm hooks: steepest step, projection,
 * random start). Three registered variants:
 * - `apgd-ce`: cross-entropy (targeted goal: minus the target's cross-entropy);
 * - `apgd-dlr`: the difference-of-logits-ratio loss (targeted goal: targeted DLR);
 * - `apgd-t`: AutoAttack's APGD-T, targeted DLR towards each of the `targetClasses`
 *   most likely wrong classes in turn, run only on examples still unbroken; success is
 *   any misclassification (or the given target under a targeted goal).
 * Defaults (the paper's): 100 steps, 1 restart, initial step 2·epsilon, momentum 0.75,
 * step-size halving at checkpoints w_j = ⌈p_j·N⌉ (p_0 = 0, p_1 = 0.22,
 * p_{j+1} = p_j + max(p_j − p_{j−1} − 0.03, 0.06)) when fewer than 75% of the steps since
 * the last checkpoint raised the loss, or when the step was not halved last time and the
 * best loss has not moved; each halving restarts from the best point. `apgd-t`: 9 target
 * classes. Per example, the result is the first point that meets the goal, else the point
 * of highest loss.
 */
import * as tf from '@tensorflow/tfjs';
import { GradientError } from '../../core/errors.js';
import { sizeOf } from '../../core/types.js';
import type { Classifier } from '../../models/classifier.js';
import { getNorm, type Norm } from '../../threats/norms.js';
import type { ThreatModel } from '../../threats/threat-model.js';
import { attackLoss, dlrLoss, targetedDlrLoss } from '../losses.js';
import { parseWholeNumber, rejectUnknownOptions } from '../options.js';
import type { Attack, AttackResult, AttackRunOptions } from '../types.js';
import { validateAttackInputs } from '../validate.js';
import { startingPoint } from './ascent.js';
import { goalMet, logitsOf, predictRows } from './min-norm.js';

export type ApgdLoss = 'ce' | 'dlr';

export interface ApgdConfig {
  steps: number;
  restarts: number;
  loss: ApgdLoss;
  /** APGD-T: attack towards each of this many most likely wrong classes (0: the plain attack). */
  targetClasses: number;
}

export interface ApgdOptions {
  steps?: number;
  restarts?: number;
}

export interface ApgdTOptions extends ApgdOptions {
  /** How many of the most likely wrong classes to target in turn (default 9). */
  targetClasses?: number;
}

const MOMENTUM = 0.75;
const RHO = 0.75;

/** The step indices after which APGD checks its step size (the paper's w_j), exposed for tests. */
export function apgdCheckpoints(steps: number): number[] {
  const first = Math.max(Math.trunc(0.22 * steps), 1);
  const decrease = Math.max(Math.trunc(0.03 * steps), 1);
  const minimum = Math.max(Math.trunc(0.06 * steps), 1);
  const out: number[] = [];
  let k = first;
  let at = 0;
  while (at + k <= steps) {
    at += k;
    out.push(at);
    k = Math.max(k - decrease, minimum);
  }
  return out;
}

interface Evaluation {
  logits: tf.Tensor2D;
  loss: tf.Tensor1D;
  gradient: tf.Tensor;
}

type Objective = (logits: tf.Tensor2D) => tf.Tensor1D;

function evaluate(model: Classifier, xa: tf.Tensor, objective: Objective): Evaluation {
  let logits: tf.Tensor2D | undefined;
  let loss: tf.Tensor1D | undefined;
  const gradient = tf.tidy(() =>
    tf.grad((input: tf.Tensor) => {
      const z = model.logits(input);
      const l = objective(z);
      logits = tf.keep(z);
      loss = tf.keep(l);
      return tf.sum(l);
    })(xa),
  );
  return { logits: logits as unknown as tf.Tensor2D, loss: loss as unknown as tf.Tensor1D, gradient };
}

/** `mask ? a : b` per example, as an exact 0/1 blend (tf.where tiles the mask on wasm). */
function blend(mask: Uint8Array, a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const m = tf.tensor(mask, [mask.length, ...new Array<number>(a.rank - 1).fill(1)], 'float32');
    return tf.add(tf.mul(a, m), tf.mul(b, tf.sub(1, m)));
  });
}

function replace(holder: { t: tf.Tensor }, next: tf.Tensor): void {
  holder.t.dispose();
  holder.t = next;
}

interface RunState {
  success: Uint8Array;
  loss: Float32Array;
  adversarial: Float32Array;
  queries: number;
}

interface SingleRun {
  model: Classifier;
  x: tf.Tensor;
  labels: Int32Array;
  /** The class the loss aims at under a targeted loss, else undefined. */
  lossTargets?: Int32Array;
  goalClasses: Int32Array;
  targetedGoal: boolean;
  loss: ApgdLoss;
  norm: Norm;
  threat: ThreatModel;
  steps: number;
  seed: number;
  onStep: () => void;
}

async function runOnce(run: SingleRun): Promise<RunState> {
  const { model, x, norm, threat, steps } = run;
  const { epsilon, bounds } = threat;
  const n = run.labels.length;
  const labelT = tf.tensor1d(run.labels, 'int32');
  const targetT = run.lossTargets ? tf.tensor1d(run.lossTargets, 'int32') : undefined;
  const objective: Objective = (z) => {
    if (run.loss === 'dlr') return targetT ? targetedDlrLoss(z, labelT, targetT) : dlrLoss(z, labelT);
    return targetT ? attackLoss('ce', z, targetT, true) : attackLoss('ce', z, labelT, false);
  };
  const project = (point: tf.Tensor): tf.Tensor => tf.clipByValue(tf.add(x, norm.project(tf.sub(point, x), epsilon)), bounds.min, bounds.max);

  const stepSize = new Float32Array(n).fill(2 * epsilon);
  const current = { t: startingPoint(x, norm, threat, true, run.seed) };
  const previous = { t: tf.clone(current.t) };
  const gradient = { t: tf.zeros([1]) as tf.Tensor };
  const bestLossPoint = { t: tf.clone(current.t) };
  const bestGradient = { t: tf.zeros([1]) as tf.Tensor };
  const firstHit = { t: tf.clone(current.t) };
  const success = new Uint8Array(n);
  const bestLoss = new Float32Array(n).fill(-Infinity);
  const history: Float32Array[] = [];
  const checkpoints = new Set(apgdCheckpoints(steps));
  let lastCheckpoint = 0;
  let reducedLastCheck = new Uint8Array(n).fill(1);
  let bestLossLastCheck = new Float32Array(n);
  let queries = 0;

  /** Evaluates the current point: records hits, the best-loss point and the gradient. */
  const observe = async (step: number): Promise<void> => {
    const ev = evaluate(model, current.t, objective);
    queries++;
    const summary = tf.tidy(() => tf.concat([tf.argMax(ev.logits, 1).toFloat(), ev.loss, tf.isFinite(tf.sum(tf.abs(ev.gradient))).toFloat().reshape([1])]));
    const values = await summary.data();
    summary.dispose();
    ev.logits.dispose();
    ev.loss.dispose();
    replace(gradient, ev.gradient);
    if (values[2 * n] !== 1) {
      throw new GradientError('E_GRADIENT_NONFINITE', `Model '${model.id}' produced NaN or infinite input gradients at APGD step ${step}; check the model for log(0) or division by zero, or use a black-box attack (square).`);
    }
    const loss = Float32Array.from(values.subarray(n, 2 * n));
    const hits = new Uint8Array(n);
    const improved = new Uint8Array(n);
    let anyHit = false;
    let anyImproved = false;
    for (let i = 0; i < n; i++) {
      if (!success[i] && goalMet(values[i] as number, run.goalClasses[i] as number, run.targetedGoal)) {
        hits[i] = 1;
        success[i] = 1;
        anyHit = true;
      }
      if ((loss[i] as number) > (bestLoss[i] as number)) {
        improved[i] = 1;
        bestLoss[i] = loss[i] as number;
        anyImproved = true;
      }
    }
    if (anyHit) replace(firstHit, blend(hits, current.t, firstHit.t));
    if (step === 0) {
      replace(bestLossPoint, tf.clone(current.t));
      replace(bestGradient, tf.clone(gradient.t));
    } else if (anyImproved) {
      replace(bestLossPoint, blend(improved, current.t, bestLossPoint.t));
      replace(bestGradient, blend(improved, gradient.t, bestGradient.t));
    }
    history.push(loss);
  };

  try {
    await observe(0);
    for (let step = 1; step <= steps && success.some((s) => s === 0); step++) {
      const alpha = step === 1 ? 1 : MOMENTUM;
      const next = tf.tidy(() => {
        const eta = tf.tensor(stepSize, [n, ...new Array<number>(x.rank - 1).fill(1)], 'float32');
        const z = project(tf.add(current.t, tf.mul(eta, norm.normalizeStep(gradient.t))));
        const momentum = tf.sub(current.t, previous.t);
        return project(tf.add(current.t, tf.add(tf.mul(alpha, tf.sub(z, current.t)), tf.mul(1 - alpha, momentum))));
      });
      replace(previous, current.t);
      current.t = next;
      await observe(step);
      run.onStep();
      if (checkpoints.has(step)) {
        const span = step - lastCheckpoint;
        const halve = new Uint8Array(n);
        let anyHalve = false;
        for (let i = 0; i < n; i++) {
          let increases = 0;
          for (let k = step - span + 1; k <= step; k++) if (((history[k] as Float32Array)[i] as number) > ((history[k - 1] as Float32Array)[i] as number)) increases++;
          const oscillating = increases <= span * RHO;
          const stalled = !reducedLastCheck[i] && (bestLossLastCheck[i] as number) >= (bestLoss[i] as number);
          if (oscillating || stalled) {
            halve[i] = 1;
            anyHalve = true;
            stepSize[i] = (stepSize[i] as number) / 2;
          }
        }
        reducedLastCheck = halve;
        bestLossLastCheck = Float32Array.from(bestLoss);
        lastCheckpoint = step;
        if (anyHalve) {
          // Restart the halved examples from their best point, with its gradient.
          replace(current, blend(halve, bestLossPoint.t, current.t));
          replace(gradient, blend(halve, bestGradient.t, gradient.t));
        }
      }
    }
    const result = blend(success, firstHit.t, bestLossPoint.t);
    const adversarial = (await result.data()) as Float32Array;
    result.dispose();
    return { success, loss: bestLoss, adversarial, queries };
  } finally {
    for (const holder of [current, previous, gradient, bestLossPoint, bestGradient, firstHit]) holder.t.dispose();
    labelT.dispose();
    targetT?.dispose();
  }
}

/**
 * Runs APGD (and APGD-T when `config.targetClasses > 0`) on a batch.
 *
 * @throws InputError for a batch or labels that do not fit the model (see validateAttackInputs).
 * @throws GradientError `E_NOT_DIFFERENTIABLE` for a black-box model, `E_GRADIENT_NONFINITE` for NaN gradients.
 */
export async function apgdAttack(model: Classifier, x: tf.Tensor, labels: Int32Array, threat: ThreatModel, config: ApgdConfig, options: AttackRunOptions = {}): Promise<AttackResult> {
  const goal = options.goal ?? { kind: 'untargeted' };
  const goalClasses = await validateAttackInputs(model, x, labels, threat, goal);
  if (!model.differentiable) {
    throw new GradientError('E_NOT_DIFFERENTIABLE', `Model '${model.id}' exposes no gradients; use a black-box attack (square) against it.`);
  }
  const norm = getNorm(threat.norm);
  const targetedGoal = goal.kind === 'targeted';
  const n = labels.length;
  const rowSize = sizeOf(model.inputShape);
  const best = Float32Array.from(await x.data());
  const success = new Uint8Array(n);
  const bestLoss = new Float32Array(n).fill(-Infinity);
  const queries = new Int32Array(n);
  const seed = options.seed ?? 0;

  // Each round attacks the examples still unbroken with one loss target: the goal's (or
  // none) for the plain attack, the j-th most likely wrong class for APGD-T.
  let rankedWrong: Int32Array[] | undefined;
  const rounds = config.targetClasses > 0 && !targetedGoal ? Math.min(config.targetClasses, model.numClasses - 1) : 1;
  if (config.targetClasses > 0 && !targetedGoal) {
    const z = await logitsOf(model, best, n);
    rankedWrong = Array.from({ length: n }, (_, i) => {
      const order = Array.from({ length: model.numClasses }, (_, j) => j).filter((j) => j !== labels[i]);
      order.sort((a, b) => (z[i * model.numClasses + b] as number) - (z[i * model.numClasses + a] as number) || a - b);
      return Int32Array.from(order);
    });
    for (let i = 0; i < n; i++) queries[i] = 1;
  }
  const total = config.steps * config.restarts * rounds;
  let done = 0;

  for (let round = 0; round < rounds; round++) {
    for (let restart = 0; restart < config.restarts; restart++) {
      if (threat.epsilon === 0) break;
      const remaining: number[] = [];
      for (let i = 0; i < n; i++) if (!success[i]) remaining.push(i);
      if (remaining.length === 0) break;
      const indices = tf.tensor1d(remaining, 'int32');
      const subset = remaining.length === n ? tf.clone(x) : tf.gather(x, indices);
      indices.dispose();
      const pick = (values: Int32Array): Int32Array => Int32Array.from(remaining, (i) => values[i] as number);
      const lossTargets = rankedWrong ? Int32Array.from(remaining, (i) => (rankedWrong?.[i] as Int32Array)[round] as number) : targetedGoal ? pick(goalClasses) : undefined;
      let state: RunState;
      try {
        state = await runOnce({
          model,
          x: subset,
          labels: pick(labels),
          ...(lossTargets ? { lossTargets } : {}),
          goalClasses: pick(goalClasses),
          targetedGoal,
          loss: config.loss,
          norm,
          threat,
          steps: config.steps,
          seed: seed + 7919 * restart + 104_729 * round,
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
      done = (round * config.restarts + restart + 1) * config.steps;
      options.onProgress?.({ done, total });
    }
  }
  const adversarial = tf.tensor(best, x.shape, 'float32');
  const distance = tf.tidy(() => norm.distance(tf.sub(adversarial, x)));
  const perturbation = (await distance.data()) as Float32Array;
  distance.dispose();
  if (threat.epsilon === 0) {
    // Nothing searched: the flags come from one prediction at the clean input.
    const p = await predictRows(model, best, n);
    for (let i = 0; i < n; i++) {
      success[i] = goalMet(p[i] as number, goalClasses[i] as number, targetedGoal) ? 1 : 0;
      queries[i] = (queries[i] as number) + 1;
    }
  }
  return { adversarial, success, perturbation, queries };
}

function factory(id: string, loss: ApgdLoss, defaults: { targetClasses: number }) {
  return (options: ApgdTOptions = {}): Attack => {
    const known = defaults.targetClasses > 0 ? ['steps', 'restarts', 'targetClasses'] : ['steps', 'restarts'];
    rejectUnknownOptions(id, options as Record<string, unknown>, known);
    const config: ApgdConfig = {
      steps: parseWholeNumber(id, 'steps', options.steps, 100),
      restarts: parseWholeNumber(id, 'restarts', options.restarts, 1),
      loss,
      targetClasses: defaults.targetClasses > 0 ? parseWholeNumber(id, 'targetClasses', options.targetClasses, defaults.targetClasses) : 0,
    };
    return { id, config, run: (model, x, labels, threat, runOptions) => apgdAttack(model, x, labels, threat, config, runOptions) };
  };
}

/**
 * APGD with cross-entropy.
 *
 * @throws UsageError `E_ATTACK_OPTION` for an unknown option or a value out of range.
 * @example const result = await apgdCe({ steps: 100 }).run(model, x, labels, threatModel({ norm: 'linf', epsilon: 0.3 }));
 */
export const apgdCe: (options?: ApgdOptions) => Attack = factory('apgd-ce', 'ce', { targetClasses: 0 });

/**
 * APGD with the DLR loss.
 *
 * @throws UsageError `E_ATTACK_OPTION` for an unknown option or a value out of range.
 * @example const result = await apgdDlr().run(model, x, labels, threatModel({ norm: 'l2', epsilon: 1.5 }));
 */
export const apgdDlr: (options?: ApgdOptions) => Attack = factory('apgd-dlr', 'dlr', { targetClasses: 0 });

/**
 * APGD-T: targeted DLR towards the most likely wrong classes, one after another.
 *
 * @throws UsageError `E_ATTACK_OPTION` for an unknown option or a value out of range.
 * @example const result = await apgdT({ targetClasses: 3 }).run(model, x, labels, threatModel({ norm: 'linf', epsilon: 0.3 }));
 */
export const apgdT: (options?: ApgdTOptions) => Attack = factory('apgd-t', 'dlr', { targetClasses: 9 });

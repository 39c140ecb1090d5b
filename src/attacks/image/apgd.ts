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
 * of highest loss. `eot: N` averages each gradient over N forward passes (expectation over
 * transformation) to attack a randomised model.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { wholeNumber } from '../../core/option-schema.js';
import { attackLoss, dlrLoss, targetedDlrLoss } from '../losses.js';
import { eotOption, parseAttackOptions } from '../option-schema.js';
import type { Attack } from '../types.js';
import { attackOf, wrapAttack, type AttackContext, type AttackOutcome } from '../wrapper.js';
import { startingPoint } from './ascent.js';
import { observe, type AttackObjective } from './loss-gradient.js';
import { bestOfRuns, type RunOutcome } from './restarts.js';
import type { Projection } from '../../threats/tabular/project.js';
import { goalMet, logitsOf, predictRows, rankWrongClasses } from './rows.js';

export type ApgdLoss = 'ce' | 'dlr';

export interface ApgdConfig {
  steps: number;
  restarts: number;
  loss: ApgdLoss;
  /** APGD-T: attack towards each of this many most likely wrong classes (0: the plain attack). */
  targetClasses: number;
  /** Forward passes averaged per gradient (expectation over transformation); default 1. */
  eotSamples?: number;
  /** The feasible set's projection (tabular constraints); default the ball and the bounds. */
  project?: Projection;
}

export const apgdOptions = z.strictObject({
  steps: wholeNumber(1).optional(),
  restarts: wholeNumber(1).optional(),
  /** Forward passes averaged per gradient (EOT); default 1. */
  eot: eotOption.optional(),
});
export type ApgdOptions = z.infer<typeof apgdOptions>;

export const apgdTOptions = apgdOptions.extend({
  /** How many of the most likely wrong classes to target in turn (default 9). */
  targetClasses: wholeNumber(1).optional(),
});
export type ApgdTOptions = z.infer<typeof apgdTOptions>;

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

interface SingleRun {
  context: AttackContext;
  x: tf.Tensor;
  labels: Int32Array;
  /** The class the loss aims at under a targeted loss, else undefined. */
  lossTargets?: Int32Array;
  goalClasses: Int32Array;
  config: ApgdConfig;
  seed: number;
  onStep: () => void;
}

async function runOnce(run: SingleRun): Promise<RunOutcome> {
  const { x, config } = run;
  const { model, norm, threat, targeted } = run.context;
  const { steps } = config;
  const eotSamples = config.eotSamples ?? 1;
  const { epsilon, bounds } = threat;
  const n = run.labels.length;
  const labelT = tf.tensor1d(run.labels, 'int32');
  const targetT = run.lossTargets ? tf.tensor1d(run.lossTargets, 'int32') : undefined;
  const objective: AttackObjective = (z) => {
    if (config.loss === 'dlr') return targetT ? targetedDlrLoss(z, labelT, targetT) : dlrLoss(z, labelT);
    return targetT ? attackLoss('ce', z, targetT, true) : attackLoss('ce', z, labelT, false);
  };
  const project = (point: tf.Tensor): tf.Tensor =>
    config.project ? config.project(x, point) : tf.clipByValue(tf.add(x, norm.project(tf.sub(point, x), epsilon)), bounds.min, bounds.max);

  const stepSize = new Float32Array(n).fill(2 * epsilon);
  const current = { t: startingPoint(x, norm, threat, true, run.seed, config.project) };
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
  const record = async (step: number): Promise<void> => {
    const seen = await observe(model, current.t, objective, { gradient: true, samples: eotSamples, where: `APGD step ${step}` });
    queries += eotSamples;
    replace(gradient, seen.gradient as tf.Tensor);
    const { loss } = seen;
    const hits = new Uint8Array(n);
    const improved = new Uint8Array(n);
    let anyHit = false;
    let anyImproved = false;
    for (let i = 0; i < n; i++) {
      if (!success[i] && goalMet(seen.predicted[i] as number, run.goalClasses[i] as number, targeted)) {
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
    await record(0);
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
      await record(step);
      run.onStep();
      if (checkpoints.has(step)) {
        const span = step - lastCheckpoint;
        const halve = new Uint8Array(n);
        let anyHalve = false;
        for (let i = 0; i < n; i++) {
          let increases = 0;
          for (let k = step - span + 1; k <= step; k++)
            if (((history[k] as Float32Array)[i] as number) > ((history[k - 1] as Float32Array)[i] as number)) increases++;
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

/** APGD as a search, for wrappers that add their own checks (tabular attacks). */
export async function apgdSearch(context: AttackContext, config: ApgdConfig): Promise<AttackOutcome> {
  const { model, x, labels, threat, goalClasses, targeted } = context;
  const { n } = context;
  // Each round attacks the examples still unbroken with one loss target: the goal's (or
  // none) for the plain attack, the j-th most likely wrong class for APGD-T.
  const ranked = config.targetClasses > 0 && !targeted;
  const rankedWrong = ranked ? rankWrongClasses(await logitsOf(model, context.clean, n), labels, model.numClasses) : undefined;
  const rounds = ranked ? Math.min(config.targetClasses, model.numClasses - 1) : 1;
  const best = await bestOfRuns(context, {
    runs: threat.epsilon === 0 ? 0 : rounds * config.restarts,
    stepsPerRun: config.steps,
    run: (subset, rows, index, onStep) => {
      const round = Math.floor(index / config.restarts);
      const restart = index % config.restarts;
      const pick = (values: Int32Array): Int32Array => Int32Array.from(rows, (i) => values[i] as number);
      const wrongClass = (i: number): number => (rankedWrong?.[i] as Int32Array)[round] as number;
      const lossTargets = rankedWrong ? Int32Array.from(rows, wrongClass) : targeted ? pick(goalClasses) : undefined;
      return runOnce({
        context,
        x: subset,
        labels: pick(labels),
        ...(lossTargets ? { lossTargets } : {}),
        goalClasses: pick(goalClasses),
        config,
        seed: context.seed + 7919 * restart + 104_729 * round,
        onStep,
      });
    },
  });
  const { success, queries } = best;
  // The ranking of APGD-T cost one forward pass.
  if (rankedWrong) for (let i = 0; i < n; i++) queries[i] = (queries[i] as number) + 1;
  if (threat.epsilon === 0) {
    // Nothing searched: the flags come from one prediction at the clean input.
    const p = await predictRows(model, best.points, n);
    for (let i = 0; i < n; i++) {
      success[i] = goalMet(p[i] as number, goalClasses[i] as number, targeted) ? 1 : 0;
      queries[i] = (queries[i] as number) + 1;
    }
  }
  return { adversarial: tf.tensor(best.points, x.shape, 'float32'), success, queries };
}

/**
 * Runs APGD (and APGD-T when `config.targetClasses > 0`) on a batch.
 *
 * @throws InputError for a batch or labels that do not fit the model (see validateAttackInputs).
 * @throws GradientError `E_NOT_DIFFERENTIABLE` for a black-box model, `E_GRADIENT_NONFINITE` for NaN gradients.
 * @example const result = await apgdAttack(model, x, labels, threat, { steps: 100, restarts: 1, loss: 'ce', targetClasses: 0 });
 */
export const apgdAttack = wrapAttack('apgd', 'gradients', apgdSearch);

function factory(id: string, loss: ApgdLoss, defaults: { targetClasses: number }) {
  const schema = defaults.targetClasses > 0 ? apgdTOptions : apgdOptions;
  return (options: ApgdTOptions = {}): Attack => {
    const o: ApgdTOptions = parseAttackOptions(id, schema, options);
    const config: ApgdConfig = {
      steps: o.steps ?? 100,
      restarts: o.restarts ?? 1,
      loss,
      targetClasses: defaults.targetClasses > 0 ? (o.targetClasses ?? defaults.targetClasses) : 0,
      ...(o.eot === undefined ? {} : { eotSamples: o.eot }),
    };
    return attackOf(id, config, apgdAttack);
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

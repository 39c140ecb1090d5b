/**
 * DeepFool — "DeepFool: a simple and accurate method to fool deep neural networks",
 * Moosavi-Dezfooli, Fawzi, Frossard, CVPR 2016, https://arxiv.org/abs/1511.04599
 *
 * Norm: L2 (the paper's step) or L∞ (the same linearisation with the dual L1 norm and a
 * sign step), from the threat model. A minimum-norm attack: it linearises the model
 * around the current point, jumps to the nearest linearised decision boundary among the
 * candidate classes, and repeats until the prediction changes. Against a threat it
 * returns the point found when it lies within epsilon, else its projection onto the ball
 * (success re-checked); `minNorm` holds the unbounded distances.
 * Defaults (Foolbox 3 / the paper): 50 steps, overshoot 0.02, the 10 most likely classes
 * as candidates. A targeted goal uses the target as the only candidate.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { GradientError } from '../../core/errors.js';
import { nonNegativeNumber, wholeNumber } from '../../core/option-schema.js';
import { sizeOf } from '../../core/types.js';
import { parseAttackOptions } from '../option-schema.js';
import type { Attack } from '../types.js';
import { attackOf, wrapAttack, type AttackContext, type AttackOutcome } from '../wrapper.js';
import { finishMinNorm } from './min-norm.js';
import { goalMet, logitsOf, rankWrongClasses, rowDistances } from './rows.js';

export const deepFoolOptions = z.strictObject({
  steps: wholeNumber(1).optional(),
  /** Relative overshoot past the linearised boundary (default 0.02). */
  overshoot: nonNegativeNumber().optional(),
  /** How many of the most likely classes (the label included) to consider (default 10). */
  candidates: wholeNumber(2).optional(),
});
export type DeepFoolOptions = z.infer<typeof deepFoolOptions>;

export interface DeepFoolConfig {
  steps: number;
  overshoot: number;
  candidates: number;
}

async function deepFoolSearch(context: AttackContext, config: DeepFoolConfig): Promise<AttackOutcome> {
  const { model, x, labels, threat, norm, targeted, goalClasses } = context;
  const { bounds } = threat;
  const n = labels.length;
  const d = sizeOf(model.inputShape);
  const C = model.numClasses;
  const clean = Float32Array.from(await x.data());
  const current = Float32Array.from(clean);
  const total = new Float64Array(n * d);
  const found = new Uint8Array(n);
  const queries = new Int32Array(n);

  // Candidate classes, fixed from the clean logits as in the paper (untargeted only).
  const z0 = await logitsOf(model, clean, n);
  const K = targeted ? 1 : Math.max(1, Math.min(config.candidates, C) - 1);
  const ranked = rankWrongClasses(z0, labels, C);
  const candidates = Array.from({ length: n }, (_, i) => (targeted ? Int32Array.from([goalClasses[i] as number]) : (ranked[i] as Int32Array).slice(0, K)));
  for (let i = 0; i < n; i++) queries[i] = 1;

  for (let step = 0; step <= config.steps; step++) {
    const active: number[] = [];
    for (let i = 0; i < n; i++) if (!found[i]) active.push(i);
    if (active.length === 0) break;
    const m = active.length;
    const rows = new Float32Array(m * d);
    active.forEach((i, k) => rows.set(current.subarray(i * d, (i + 1) * d), k * d));
    // One forward/backward pass over K copies of the batch gives all K boundary normals.
    const z = await logitsOf(model, rows, m);
    const origin = new Int32Array(m);
    let stillActive = 0;
    active.forEach((i, k) => {
      let pred = 0;
      for (let j = 1; j < C; j++) if ((z[k * C + j] as number) > (z[k * C + pred] as number)) pred = j;
      queries[i] = (queries[i] as number) + 1;
      if (goalMet(pred, goalClasses[i] as number, targeted)) found[i] = 1;
      else stillActive++;
      // Targeted: move from the strongest non-target class towards the target.
      if (targeted) {
        let o = -1;
        for (let j = 0; j < C; j++) if (j !== goalClasses[i] && (o < 0 || (z[k * C + j] as number) > (z[k * C + o] as number))) o = j;
        origin[k] = o;
      } else origin[k] = labels[i] as number;
    });
    if (stillActive === 0 || step === config.steps) break;
    const candidateIdx = new Int32Array(K * m);
    const originIdx = new Int32Array(K * m);
    for (let c = 0; c < K; c++) {
      for (let k = 0; k < m; k++) {
        candidateIdx[c * m + k] = (candidates[active[k] as number] as Int32Array)[c] as number;
        originIdx[c * m + k] = origin[k] as number;
      }
    }
    const [gradient, f, wNorm] = tf.tidy(() => {
      const xa = tf.tensor(rows, [m, ...model.inputShape], 'float32');
      const rep = K === 1 ? xa : tf.concat(new Array<tf.Tensor>(K).fill(xa), 0);
      const pick = tf.sub(tf.oneHot(tf.tensor1d(candidateIdx, 'int32'), C), tf.oneHot(tf.tensor1d(originIdx, 'int32'), C)).toFloat();
      const diff = (input: tf.Tensor): tf.Tensor1D => tf.sum(tf.mul(model.logits(input), pick), 1) as tf.Tensor1D;
      const g = tf.grad((input: tf.Tensor) => tf.sum(diff(input)))(rep);
      const flat = g.reshape([K * m, -1]);
      const dual = norm.id === 'l2' ? tf.sqrt(tf.sum(tf.square(flat), 1)) : tf.sum(tf.abs(flat), 1);
      return [g, diff(rep), dual];
    });
    const fv = await f.data();
    const wv = await wNorm.data();
    f.dispose();
    wNorm.dispose();
    const finite = tf.tidy(() => tf.all(tf.isFinite(gradient)));
    const ok = (await finite.data())[0] === 1;
    finite.dispose();
    if (!ok) {
      gradient.dispose();
      throw new GradientError('E_GRADIENT_NONFINITE', `Model '${model.id}' produced NaN or infinite input gradients at DeepFool step ${step}; check the model for log(0) or division by zero.`);
    }
    const chosen = new Int32Array(m);
    const coefficient = new Float32Array(m);
    for (let k = 0; k < m; k++) {
      let bestC = 0;
      let bestDist = Infinity;
      for (let c = 0; c < K; c++) {
        const dist = Math.abs(fv[c * m + k] as number) / ((wv[c * m + k] as number) + 1e-8);
        if (dist < bestDist) {
          bestDist = dist;
          bestC = c;
        }
      }
      chosen[k] = bestC * m + k;
      const w = (wv[bestC * m + k] as number) + 1e-8;
      // L2: (|f| + 1e-4) / ‖w‖² · w.  L∞: (|f| + 1e-4) / ‖w‖₁ · sign(w).
      coefficient[k] = (Math.abs(fv[bestC * m + k] as number) + 1e-4) / (norm.id === 'l2' ? w * w : w);
      queries[active[k] as number] = (queries[active[k] as number] as number) + K;
    }
    const stepRows = tf.tidy(() => {
      const g = tf.gather(gradient, tf.tensor1d(chosen, 'int32'));
      const dir = norm.id === 'l2' ? g : tf.sign(g);
      return tf.mul(dir, tf.tensor(coefficient, [m, ...new Array<number>(model.inputShape.length).fill(1)], 'float32'));
    });
    gradient.dispose();
    const r = await stepRows.data();
    stepRows.dispose();
    active.forEach((i, k) => {
      for (let j = 0; j < d; j++) {
        const t = (total[i * d + j] as number) + (r[k * d + j] as number);
        total[i * d + j] = t;
        current[i * d + j] = Math.min(bounds.max, Math.max(bounds.min, (clean[i * d + j] as number) + (1 + config.overshoot) * t));
      }
    });
    context.onProgress({ done: step + 1, total: config.steps });
  }
  const distances = rowDistances(norm, current, clean, n);
  const minNorm = Float32Array.from(distances, (v, i) => (found[i] ? v : Infinity));
  return finishMinNorm(context, { points: current, minNorm, queries });
}

/**
 * Runs DeepFool on a batch and answers to the threat as a minimum-norm attack.
 *
 * @throws InputError for a batch or labels that do not fit the model (see validateAttackInputs).
 * @throws GradientError `E_NOT_DIFFERENTIABLE` for a black-box model, `E_GRADIENT_NONFINITE` for NaN gradients.
 * @example const result = await deepFoolAttack(model, x, labels, threat, { steps: 50, overshoot: 0.02, candidates: 10 });
 */
export const deepFoolAttack = wrapAttack('deepfool', 'gradients', deepFoolSearch);

/**
 * @throws UsageError `E_ATTACK_OPTION` for an unknown option or a value out of range.
 * @example const result = await deepFool({ steps: 50 }).run(model, x, labels, threatModel({ norm: 'l2', epsilon: 2 }));
 */
export function deepFool(options: DeepFoolOptions = {}): Attack {
  const o = parseAttackOptions('deepfool', deepFoolOptions, options);
  const config: DeepFoolConfig = { steps: o.steps ?? 50, overshoot: o.overshoot ?? 0.02, candidates: o.candidates ?? 10 };
  return attackOf('deepfool', config, deepFoolAttack);
}

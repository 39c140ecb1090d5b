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
import { z } from 'zod';
import { nonNegativeNumber, wholeNumber } from '../../core/option-schema.js';
import { parseAttackOptions } from '../option-schema.js';
import type { Attack } from '../types.js';
import { attackOf, wrapAttack, type AttackContext, type AttackOutcome } from '../wrapper.js';
import { boundaryNormals, finishMinNorm } from './min-norm.js';
import { goalMet, logitsOf, rankWrongClasses, rowDistances } from './rows.js';

export const deepFoolOptions = z.strictObject({
  steps: wholeNumber(1).default(50),
  /** Relative overshoot past the linearised boundary (default 0.02). */
  overshoot: nonNegativeNumber().default(0.02),
  /** How many of the most likely classes (the label included) to consider (default 10). */
  candidates: wholeNumber(2).default(10),
});
/** The options as given (each may be left out for its default). */
export type DeepFoolOptions = z.input<typeof deepFoolOptions>;
/** The options resolved, defaults filled in. */
export type DeepFoolConfig = z.infer<typeof deepFoolOptions>;

async function deepFoolSearch(context: AttackContext, config: DeepFoolConfig): Promise<AttackOutcome> {
  const { model, labels, threat, norm, targeted, goalClasses } = context;
  const { bounds } = threat;
  const { n, rowSize: d, clean } = context;
  const C = model.numClasses;
  const current = Float32Array.from(clean);
  const total = new Float64Array(n * d);
  const found = new Uint8Array(n);
  const queries = new Int32Array(n);

  // Candidate classes, fixed from the clean logits as in the paper (untargeted only).
  const z0 = await logitsOf(model, clean, n);
  const K = targeted ? 1 : Math.max(1, Math.min(config.candidates, C) - 1);
  const ranked = rankWrongClasses(z0, labels, C);
  const candidates = Array.from({ length: n }, (_, i) =>
    targeted ? Int32Array.from([goalClasses[i] as number]) : (ranked[i] as Int32Array).slice(0, K),
  );
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
    const { f: fv, gradient } = await boundaryNormals(model, rows, m, candidateIdx, originIdx, K);
    // The dual norm of each boundary normal: L2 for an L2 step, L1 for the L∞ sign step.
    const wv = new Float64Array(K * m);
    for (let row = 0; row < K * m; row++) {
      let t = 0;
      for (let j = row * d; j < (row + 1) * d; j++) t += norm.id === 'l2' ? (gradient[j] as number) ** 2 : Math.abs(gradient[j] as number);
      wv[row] = norm.id === 'l2' ? Math.sqrt(t) : t;
    }
    const r = new Float32Array(m * d);
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
      const w = (wv[bestC * m + k] as number) + 1e-8;
      // L2: (|f| + 1e-4) / ‖w‖² · w.  L∞: (|f| + 1e-4) / ‖w‖₁ · sign(w).
      const coefficient = (Math.abs(fv[bestC * m + k] as number) + 1e-4) / (norm.id === 'l2' ? w * w : w);
      const normal = gradient.subarray((bestC * m + k) * d, (bestC * m + k + 1) * d);
      for (let j = 0; j < d; j++) r[k * d + j] = coefficient * (norm.id === 'l2' ? (normal[j] as number) : Math.sign(normal[j] as number));
      queries[active[k] as number] = (queries[active[k] as number] as number) + K;
    }
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
  return attackOf('deepfool', parseAttackOptions('deepfool', deepFoolOptions, options), deepFoolAttack);
}

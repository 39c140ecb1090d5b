/**
 * FAB — "Minimally distorted Adversarial Examples with a Fast Adaptive Boundary Attack",
 * Croce & Hein, ICML 2020, https://arxiv.org/abs/1907.02044
 *
 * Norm: L∞ or L2, from the threat model. A minimum-norm white-box attack: at each step it
 * linearises the model, picks the closest linearised boundary, projects both the current
 * point and the original input onto it (inside the box of valid inputs), and moves to a
 * mix of the two projections biased towards the original (α ≤ α_max), overshooting by η;
 * after each success it steps back towards the input (β), so the search closes in on the
 * smallest perturbation. Two registered variants:
 * - `fab`: untargeted, all classes as candidate boundaries;
 * - `fab-t`: AutoAttack's FAB-T, one target class at a time among the `targetClasses`
 *   most likely wrong ones (each its own boundary), keeping the smallest point found.
 * Against a threat it returns the point found when it lies within epsilon, else its
 * projection onto the ball (success re-checked); `minNorm` holds the unbounded distances.
 * Defaults (AutoAttack's): 100 steps, 1 restart (later restarts start at random within
 * half the best norm so far), α_max 0.1, η 1.05, β 0.9; `fab-t`: 9 target classes.
 */
import { z } from 'zod';
import { wholeNumber } from '../../core/option-schema.js';
import { createRng } from '../../core/rng.js';
import { parseAttackOptions } from '../option-schema.js';
import type { Attack } from '../types.js';
import { attackOf, wrapAttack, type AttackContext, type AttackOutcome } from '../wrapper.js';
import { boundaryNormals, finishMinNorm } from './min-norm.js';
import { goalMet, logitsOf, predictRows, rankWrongClasses } from './rows.js';

export const fabOptions = z.strictObject({
  steps: wholeNumber(1).optional(),
  restarts: wholeNumber(1).optional(),
});
export type FabOptions = z.infer<typeof fabOptions>;

export const fabTOptions = fabOptions.extend({
  /** How many of the most likely wrong classes to target in turn (default 9). */
  targetClasses: wholeNumber(1).optional(),
});
export type FabTOptions = z.infer<typeof fabTOptions>;

export interface FabConfig {
  steps: number;
  restarts: number;
  /** 0: untargeted FAB; otherwise FAB-T over this many classes. */
  targetClasses: number;
  alphaMax: number;
  eta: number;
  beta: number;
}

function pNorm(v: ArrayLike<number>, linf: boolean): number {
  let t = 0;
  for (let k = 0; k < v.length; k++) t = linf ? Math.max(t, Math.abs(v[k] as number)) : t + (v[k] as number) ** 2;
  return linf ? t : Math.sqrt(t);
}

/**
 * The nearest point (in L2 or L∞) to `x` on the hyperplane `w·z = b` inside the box
 * `[lo, hi]`. The minimiser lies on the path `z(t) = clip(x + t·dir)` with `dir = w` (L2)
 * or `sign(w)` (L∞), pointing towards the hyperplane; along it `w·z(t) − w·x` is the
 * piecewise-linear `Σ a_k·min(t, t_k)` (`a_k = |w_k·dir_k|`, `t_k` where coordinate k
 * meets the box), so sorting the `t_k` gives the crossing exactly. Where the box keeps the
 * hyperplane out of reach, returns the closest reachable point (every coordinate at its
 * bound).
 */
export function projectOntoHyperplane(
  x: ArrayLike<number>,
  w: ArrayLike<number>,
  b: number,
  lo: number,
  hi: number,
  linf: boolean,
): Float64Array {
  const d = x.length;
  let wx = 0;
  for (let k = 0; k < d; k++) wx += (w[k] as number) * (x[k] as number);
  const gap = b - wx;
  const out = Float64Array.from(x);
  if (gap === 0) return out;
  const s = Math.sign(gap);
  const target = Math.abs(gap);
  const dir = new Float64Array(d);
  const limit = new Float64Array(d);
  const weight = new Float64Array(d);
  let slope = 0;
  for (let k = 0; k < d; k++) {
    const wk = w[k] as number;
    const v = s * (linf ? Math.sign(wk) : wk);
    dir[k] = v;
    if (v === 0) continue;
    weight[k] = Math.abs(wk * v);
    limit[k] = Math.max(0, ((v > 0 ? hi : lo) - (x[k] as number)) / v);
    slope += weight[k] as number;
  }
  if (slope === 0) return out;
  const order = Array.from({ length: d }, (_, k) => k).filter((k) => dir[k] !== 0);
  order.sort((p, q) => (limit[p] as number) - (limit[q] as number));
  let t = 0;
  let reached = 0;
  let crossing = -1;
  for (const k of order) {
    const next = reached + slope * ((limit[k] as number) - t);
    if (next >= target && slope > 0) {
      crossing = t + (target - reached) / slope;
      break;
    }
    reached = next;
    t = limit[k] as number;
    slope -= weight[k] as number;
  }
  const tStar = crossing >= 0 ? crossing : t;
  for (let k = 0; k < d; k++) out[k] = Math.min(hi, Math.max(lo, (x[k] as number) + tStar * (dir[k] as number)));
  return out;
}

async function fabSearch(context: AttackContext, config: FabConfig): Promise<AttackOutcome> {
  const { model, labels, threat, norm, goalClasses } = context;
  const targetedGoal = context.targeted;
  const linf = norm.id === 'linf';
  const { bounds, epsilon } = threat;
  const { n, rowSize: d, clean } = context;
  const C = model.numClasses;
  const best = Float32Array.from(clean);
  const bestNorm = new Float64Array(n).fill(Infinity);
  const queries = new Int32Array(n);
  const rng = createRng(context.seed);

  // The boundaries to search: every other class (FAB), the goal's target, or one of the
  // most likely wrong classes per round (FAB-T).
  const z0 = await logitsOf(model, clean, n);
  for (let i = 0; i < n; i++) queries[i] = 1;
  const ranked = rankWrongClasses(z0, labels, C);
  const perRound = targetedGoal || config.targetClasses > 0;
  const rounds = targetedGoal ? 1 : config.targetClasses > 0 ? Math.min(config.targetClasses, C - 1) : 1;
  const K = perRound ? 1 : C - 1;
  const total = rounds * config.restarts * config.steps;
  let done = 0;

  for (let round = 0; round < rounds; round++) {
    for (let restart = 0; restart < config.restarts; restart++) {
      // Examples already broken within epsilon are done; the rest keep shrinking.
      const active: number[] = [];
      for (let i = 0; i < n; i++) if (!((bestNorm[i] as number) <= epsilon && epsilon > 0)) active.push(i);
      if (active.length === 0) break;
      const m = active.length;
      const x0 = new Float32Array(m * d);
      active.forEach((i, k) => x0.set(clean.subarray(i * d, (i + 1) * d), k * d));
      const x1 = Float32Array.from(x0);
      if (restart > 0) {
        active.forEach((i, k) => {
          const radius = 0.5 * Math.min(bestNorm[i] as number, epsilon > 0 ? epsilon : Infinity);
          if (!Number.isFinite(radius)) return;
          const dir = Float64Array.from({ length: d }, () => (linf ? 2 * rng.next() - 1 : rng.normal()));
          const size = pNorm(dir, linf) || 1;
          for (let j = 0; j < d; j++)
            x1[k * d + j] = Math.min(bounds.max, Math.max(bounds.min, (x0[k * d + j] as number) + (radius * (dir[j] as number)) / size));
        });
      }
      const candidates = new Int32Array(K * m);
      const origins = new Int32Array(K * m);
      active.forEach((i, k) => {
        for (let c = 0; c < K; c++) {
          origins[c * m + k] = labels[i] as number;
          candidates[c * m + k] = targetedGoal
            ? (goalClasses[i] as number)
            : perRound
              ? ((ranked[i] as Int32Array)[round] as number)
              : ((ranked[i] as Int32Array)[c] as number);
        }
      });
      for (let step = 0; step < config.steps; step++) {
        const { f, gradient } = await boundaryNormals(model, x1, m, candidates, origins, K);
        for (let k = 0; k < m; k++) {
          // The closest linearised boundary in the threat's norm (dual norm of the normal).
          let bestC = 0;
          let bestDist = Infinity;
          for (let c = 0; c < K; c++) {
            const row = gradient.subarray((c * m + k) * d, (c * m + k + 1) * d);
            const dual = linf ? row.reduce((a, v) => a + Math.abs(v), 0) : pNorm(row, false);
            const dist = Math.abs(f[c * m + k] as number) / (dual + 1e-12);
            if (dist < bestDist) {
              bestDist = dist;
              bestC = c;
            }
          }
          const w = gradient.subarray((bestC * m + k) * d, (bestC * m + k + 1) * d);
          const cur = x1.subarray(k * d, (k + 1) * d);
          const orig = x0.subarray(k * d, (k + 1) * d);
          let wx = 0;
          for (let j = 0; j < d; j++) wx += (w[j] as number) * (cur[j] as number);
          const b = wx - (f[bestC * m + k] as number);
          const p1 = projectOntoHyperplane(cur, w, b, bounds.min, bounds.max, linf);
          const p0 = projectOntoHyperplane(orig, w, b, bounds.min, bounds.max, linf);
          const d1 = p1.map((v, j) => v - (cur[j] as number));
          const d0 = p0.map((v, j) => v - (orig[j] as number));
          const a1 = pNorm(d1, linf);
          const a0 = pNorm(d0, linf);
          const alpha = a1 + a0 === 0 ? 0 : Math.min(Math.max(a1 / (a1 + a0), 0), config.alphaMax);
          for (let j = 0; j < d; j++) {
            const v =
              (1 - alpha) * ((cur[j] as number) + config.eta * (d1[j] as number)) +
              alpha * ((orig[j] as number) + config.eta * (d0[j] as number));
            cur[j] = Math.min(bounds.max, Math.max(bounds.min, v));
          }
        }
        const pred = await predictRows(model, x1, m);
        active.forEach((i, k) => {
          queries[i] = (queries[i] as number) + K + 1;
          const hit = goalMet(pred[k] as number, goalClasses[i] as number, targetedGoal);
          if (!hit) return;
          const cur = x1.subarray(k * d, (k + 1) * d);
          const orig = x0.subarray(k * d, (k + 1) * d);
          const size = pNorm(
            cur.map((v, j) => v - (orig[j] as number)),
            linf,
          );
          if (size < (bestNorm[i] as number)) {
            bestNorm[i] = size;
            best.set(cur, i * d);
          }
          // Step back towards the input: the next steps look for a smaller perturbation.
          for (let j = 0; j < d; j++) cur[j] = (orig[j] as number) + config.beta * ((cur[j] as number) - (orig[j] as number));
        });
        context.onProgress({ done: ++done, total });
      }
      done = (round * config.restarts + restart + 1) * config.steps;
    }
  }
  const minNorm = Float32Array.from(bestNorm);
  return finishMinNorm(context, { points: best, minNorm, queries });
}

/**
 * Runs FAB (or FAB-T when `config.targetClasses > 0`) on a batch and answers to the
 * threat as a minimum-norm attack.
 *
 * @throws InputError for a batch or labels that do not fit the model (see validateAttackInputs).
 * @throws GradientError `E_NOT_DIFFERENTIABLE` for a black-box model, `E_GRADIENT_NONFINITE` for NaN gradients.
 * @example
 * const config = { steps: 100, restarts: 1, targetClasses: 0, alphaMax: 0.1, eta: 1.05, beta: 0.9 };
 * const result = await fabAttack(model, x, labels, threat, config);
 */
export const fabAttack = wrapAttack('fab', 'gradients', fabSearch);

function factory(id: string, targetClasses: number) {
  const schema = targetClasses > 0 ? fabTOptions : fabOptions;
  return (options: FabTOptions = {}): Attack => {
    const o: FabTOptions = parseAttackOptions(id, schema, options);
    const config: FabConfig = {
      steps: o.steps ?? 100,
      restarts: o.restarts ?? 1,
      targetClasses: targetClasses > 0 ? (o.targetClasses ?? targetClasses) : 0,
      alphaMax: 0.1,
      eta: 1.05,
      beta: 0.9,
    };
    return attackOf(id, config, fabAttack);
  };
}

/**
 * Untargeted FAB.
 *
 * @throws UsageError `E_ATTACK_OPTION` for an unknown option or a value out of range.
 * @example const result = await fab({ steps: 100 }).run(model, x, labels, threatModel({ norm: 'l2', epsilon: 1.5 }));
 */
export const fab: (options?: FabOptions) => Attack = factory('fab', 0);

/**
 * FAB-T: FAB towards the most likely wrong classes, one at a time.
 *
 * @throws UsageError `E_ATTACK_OPTION` for an unknown option or a value out of range.
 * @example const result = await fabT({ targetClasses: 9 }).run(model, x, labels, threatModel({ norm: 'linf', epsilon: 0.3 }));
 */
export const fabT: (options?: FabTOptions) => Attack = factory('fab-t', 9);

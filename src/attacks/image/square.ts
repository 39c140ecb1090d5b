/**
 * Square Attack — "Square Attack: a query-efficient black-box adversarial attack via
 * random search", Andriushchenko, Croce, Flammarion, Hein, ECCV 2020,
 * https://arxiv.org/abs/1912.00049
 *
 * Norm: L∞ (random ±epsilon squares, vertical-stripe start) and L2 (pseudo-Gaussian
 * squares that move mass between two windows, tiled start), from the threat model.
 * Score-based black box: only `logits` are read, never gradients, so it runs against
 * non-differentiable models and is the gradient-free check of an evaluation.
 * Defaults (AutoAttack's): a budget of 5000 queries per example, `pInit` 0.8 with the
 * paper's halving schedule of the square size, margin loss. Queries are counted per
 * example (the start costs one, every step one) and never exceed the budget.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { numberIn, wholeNumber } from '../../core/option-schema.js';
import { createRng, type Rng } from '../../core/rng.js';
import { parseAttackOptions } from '../option-schema.js';
import type { Attack } from '../types.js';
import { attackOf, wrapAttack, type AttackContext, type AttackOutcome } from '../wrapper.js';
import { argmaxRows, goalMet, logitsOf } from './rows.js';

export const squareOptions = z.strictObject({
  /** Model queries per example, including the one of the starting point (default 5000). */
  queries: wholeNumber(1).default(5000),
  /** Initial fraction of the image a square covers, in (0, 1] (default 0.8). */
  pInit: numberIn(0, 1, true).default(0.8),
});
/** The options as given (each may be left out for its default). */
export type SquareOptions = z.input<typeof squareOptions>;
/** The options resolved, defaults filled in. */
export type SquareConfig = z.infer<typeof squareOptions>;

/** The paper's schedule: the square's area halves at fixed fractions of the budget. */
export function squareFraction(pInit: number, iteration: number, budget: number): number {
  const it = Math.trunc((iteration / budget) * 10000);
  const cuts = [10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000, 10000];
  for (let k = 0; k < cuts.length - 1; k++) if (it > (cuts[k] as number) && it <= (cuts[k + 1] as number)) return pInit / 2 ** (k + 1);
  return pInit;
}

/** Image geometry of a row: height, width, channels (channels-last, as the models take it). */
function geometry(shape: readonly number[]): { h: number; w: number; c: number } {
  if (shape.length === 1) return { h: 1, w: shape[0] as number, c: 1 };
  return { h: shape[0] as number, w: shape[1] as number, c: shape.slice(2).reduce((a, b) => a * b, 1) };
}

/** Margin to minimise: below zero exactly when the goal holds (ties aside). */
function margin(z: Float32Array, row: number, numClasses: number, goalClass: number, targeted: boolean): number {
  let other = -Infinity;
  for (let j = 0; j < numClasses; j++) if (j !== goalClass) other = Math.max(other, z[row * numClasses + j] as number);
  const own = z[row * numClasses + goalClass] as number;
  return targeted ? other - own : own - other;
}

/** The pseudo-Gaussian bump of the L2 attack on an `a x b` rectangle, unit L2 norm. */
function rectangleBump(a: number, b: number): Float64Array {
  const out = new Float64Array(a * b);
  let r0 = Math.floor(a / 2);
  let c0 = Math.floor(b / 2);
  for (let k = 0; k < Math.max(Math.floor(a / 2) + 1, Math.floor(b / 2) + 1); k++) {
    for (let r = Math.max(r0, 0); r < Math.min(r0 + 2 * k + 1, a); r++) {
      for (let c = Math.max(c0, 0); c < Math.min(c0 + 2 * k + 1, b); c++) out[r * b + c] = (out[r * b + c] as number) + 1 / (k + 1) ** 2;
    }
    r0--;
    c0--;
  }
  const norm = Math.sqrt(out.reduce((s, v) => s + v * v, 0)) || 1;
  return out.map((v) => v / norm);
}

/** Two opposite bumps stacked (randomly transposed), unit norm: the L2 attack's update. */
function squareBump(s: number, rng: Rng): Float64Array {
  const top = Math.floor(s / 2);
  const out = new Float64Array(s * s);
  if (top > 0) out.set(rectangleBump(top, s), 0);
  const bottom = rectangleBump(s - top, s);
  for (let k = 0; k < bottom.length; k++) out[top * s + k] = -(bottom[k] as number);
  const norm = Math.sqrt(out.reduce((a, v) => a + v * v, 0)) || 1;
  const scaled = out.map((v) => v / norm);
  if (rng.next() <= 0.5) return scaled;
  const transposed = new Float64Array(s * s);
  for (let r = 0; r < s; r++) for (let c = 0; c < s; c++) transposed[c * s + r] = scaled[r * s + c] as number;
  return transposed;
}

async function squareSearch(context: AttackContext, config: SquareConfig): Promise<AttackOutcome> {
  const { model, x, threat, norm, targeted, goalClasses } = context;
  const rng = createRng(context.seed);
  const { n, rowSize: d, clean } = context;
  const { h, w, c } = geometry(model.inputShape);
  const { epsilon, bounds } = threat;
  const clip = (v: number): number => Math.min(bounds.max, Math.max(bounds.min, v));
  const numClasses = model.numClasses;
  const at = (r: number, col: number, ch: number): number => (r * w + col) * c + ch;

  // The start: vertical stripes of ±epsilon (L∞), or a tiling of random-signed bumps scaled to epsilon (L2).
  const best = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const base = i * d;
    const delta = new Float64Array(d);
    if (norm.id === 'linf') {
      for (let col = 0; col < w; col++) {
        for (let ch = 0; ch < c; ch++) {
          const v = rng.next() < 0.5 ? -epsilon : epsilon;
          for (let r = 0; r < h; r++) delta[at(r, col, ch)] = v;
        }
      }
    } else {
      const s = Math.max(1, Math.floor(Math.min(h, w) / 5));
      const bump = squareBump(s, rng);
      const offH = Math.floor((h - s * Math.floor(h / s)) / 2);
      const offW = Math.floor((w - s * Math.floor(w / s)) / 2);
      for (let bh = 0; bh < Math.floor(h / s); bh++) {
        for (let bw = 0; bw < Math.floor(w / s); bw++) {
          for (let ch = 0; ch < c; ch++) {
            const sign = rng.next() < 0.5 ? -1 : 1;
            for (let a = 0; a < s; a++)
              for (let b = 0; b < s; b++) delta[at(offH + bh * s + a, offW + bw * s + b, ch)] = sign * (bump[a * s + b] as number);
          }
        }
      }
      const size = Math.sqrt(delta.reduce((t, v) => t + v * v, 0)) || 1;
      for (let k = 0; k < d; k++) delta[k] = ((delta[k] as number) / size) * epsilon;
    }
    for (let k = 0; k < d; k++)
      best[base + k] = epsilon === 0 ? (clean[base + k] as number) : clip((clean[base + k] as number) + (delta[k] as number));
  }

  const queries = new Int32Array(n);
  const success = new Uint8Array(n);
  const bestMargin = new Float64Array(n);
  const z0 = await logitsOf(model, best, n);
  const p0 = argmaxRows(z0, n, numClasses);
  for (let i = 0; i < n; i++) {
    queries[i] = 1;
    bestMargin[i] = margin(z0, i, numClasses, goalClasses[i] as number, targeted);
    success[i] = goalMet(p0[i] as number, goalClasses[i] as number, targeted) ? 1 : 0;
  }

  // A target's own per-example budget (an HTTP endpoint's) caps the attack's.
  const budget = Math.min(config.queries, context.queryBudget ?? Infinity);
  for (let it = 1; it < budget && epsilon > 0; it++) {
    const active: number[] = [];
    for (let i = 0; i < n; i++) if (!success[i] && (queries[i] as number) < budget) active.push(i);
    if (active.length === 0) break;
    const p = squareFraction(config.pInit, it, budget);
    const candidates = new Float32Array(active.length * d);
    active.forEach((i, k) => {
      const xi = clean.subarray(i * d, (i + 1) * d);
      const bi = best.subarray(i * d, (i + 1) * d);
      const out = candidates.subarray(k * d, (k + 1) * d);
      out.set(bi);
      if (norm.id === 'linf') {
        const s = Math.min(Math.min(h, w), Math.max(1, Math.round(Math.sqrt(p * h * w))));
        const r0 = rng.int(h - s + 1);
        const c0 = rng.int(w - s + 1);
        // Redraw while the new square would leave the point unchanged (a wasted query).
        for (let tries = 0; tries < 10; tries++) {
          let changed = false;
          for (let ch = 0; ch < c; ch++) {
            const v = rng.next() < 0.5 ? -epsilon : epsilon;
            for (let a = 0; a < s; a++) {
              for (let b = 0; b < s; b++) {
                const idx = at(r0 + a, c0 + b, ch);
                out[idx] = clip((xi[idx] as number) + v);
                if (Math.abs((out[idx] as number) - (bi[idx] as number)) >= 1e-7) changed = true;
              }
            }
          }
          if (changed) break;
        }
        return;
      }
      let s = Math.max(Math.round(Math.sqrt(p * h * w)), 3);
      if (s % 2 === 0) s++;
      s = Math.min(s, Math.min(h, w));
      const h1 = rng.int(Math.max(1, h - s));
      const w1 = rng.int(Math.max(1, w - s));
      const h2 = rng.int(Math.max(1, h - s));
      const w2 = rng.int(Math.max(1, w - s));
      const delta = new Float64Array(d);
      let image = 0;
      for (let k2 = 0; k2 < d; k2++) {
        delta[k2] = (bi[k2] as number) - (xi[k2] as number);
        image += (delta[k2] as number) ** 2;
      }
      const inWindow = (r: number, col: number, r0: number, c0: number): boolean => r >= r0 && r < r0 + s && col >= c0 && col < c0 + s;
      const bump = squareBump(s, rng);
      for (let ch = 0; ch < c; ch++) {
        let window1 = 0;
        let windows = 0;
        for (let r = 0; r < h; r++) {
          for (let col = 0; col < w; col++) {
            const in1 = inWindow(r, col, h1, w1);
            if (!in1 && !inWindow(r, col, h2, w2)) continue;
            const v = (delta[at(r, col, ch)] as number) ** 2;
            windows += v;
            if (in1) window1 += v;
          }
        }
        window1 = Math.sqrt(window1);
        const sign = rng.next() < 0.5 ? -1 : 1;
        const update = new Float64Array(s * s);
        let size = 0;
        for (let a = 0; a < s; a++) {
          for (let b = 0; b < s; b++) {
            const v = sign * (bump[a * s + b] as number) + (delta[at(h1 + a, w1 + b, ch)] as number) / (1e-10 + window1);
            update[a * s + b] = v;
            size += v * v;
          }
        }
        // The window takes the mass of both windows plus the budget left unused (paper eq. for L2).
        const target = Math.sqrt(Math.max(epsilon * epsilon - image, 0) / c + windows);
        const factor = target / (Math.sqrt(size) || 1);
        for (let a = 0; a < s; a++) for (let b = 0; b < s; b++) delta[at(h2 + a, w2 + b, ch)] = 0;
        for (let a = 0; a < s; a++) for (let b = 0; b < s; b++) delta[at(h1 + a, w1 + b, ch)] = (update[a * s + b] as number) * factor;
      }
      const size = Math.sqrt(delta.reduce((t, v) => t + v * v, 0)) || 1;
      for (let k2 = 0; k2 < d; k2++) out[k2] = clip((xi[k2] as number) + ((delta[k2] as number) / size) * epsilon);
    });
    const z = await logitsOf(model, candidates, active.length);
    const pred = argmaxRows(z, active.length, numClasses);
    active.forEach((i, k) => {
      queries[i] = (queries[i] as number) + 1;
      const m = margin(z, k, numClasses, goalClasses[i] as number, targeted);
      const hit = goalMet(pred[k] as number, goalClasses[i] as number, targeted);
      if (hit || m < (bestMargin[i] as number)) {
        bestMargin[i] = m;
        best.set(candidates.subarray(k * d, (k + 1) * d), i * d);
        if (hit) success[i] = 1;
      }
    });
    context.onProgress({ done: it, total: budget - 1 });
  }
  return { adversarial: tf.tensor(best, x.shape, 'float32'), success, queries };
}

/**
 * Runs the Square attack on a batch. Reads scores only, so it runs against models without gradients.
 *
 * @throws InputError for a batch or labels that do not fit the model (see validateAttackInputs).
 * @example const result = await squareAttack(model, x, labels, threat, { queries: 5000, pInit: 0.8 });
 */
export const squareAttack = wrapAttack('square', 'scores', squareSearch);

/**
 * @throws UsageError `E_ATTACK_OPTION` for an unknown option or a value out of range.
 * @example const result = await square({ queries: 1000 }).run(blackBoxModel, x, labels, threatModel({ norm: 'linf', epsilon: 0.1 }));
 */
export function square(options: SquareOptions = {}): Attack {
  return attackOf('square', parseAttackOptions('square', squareOptions, options), squareAttack);
}

/**
 * Constrained random search: a score-based black box for tabular rows after the Square
 * attack (Andriushchenko, Croce, Flammarion, Hein, ECCV 2020, https://arxiv.org/abs/1912.00049).
 * Rows have no squares, so a proposal redraws a random subset of the mutable features —
 * half the time at a corner of the allowed change box (where L∞ optima lie), else
 * uniformly inside it — projects onto the constraints, and keeps it when the margin of the
 * scores falls. The subset's share follows Square's halving schedule. Only scores are
 * read (`queryScores` when the target offers it), so it runs against black-box targets.
 * Defaults: 1000 queries per row (the start included), `pInit` 0.5.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { numberIn, wholeNumber } from '../../core/option-schema.js';
import { createRng } from '../../core/rng.js';
import { changeBox, projectRows } from '../../threats/tabular/project.js';
import { squareFraction } from '../image/square.js';
import { argmaxRows, goalMet, logitsOf } from '../image/rows.js';
import { parseAttackOptions } from '../option-schema.js';
import type { Attack } from '../types.js';
import { attackOf, type AttackOutcome } from '../wrapper.js';
import { wrapTabularAttack, type TabularContext } from './wrapper.js';

export const tabularRandomSearchOptions = z.strictObject({
  /** Score queries per row, the start included (default 1000). */
  queries: wholeNumber(1).optional(),
  /** Initial share of the mutable features a proposal redraws, in (0, 1] (default 0.5). */
  pInit: numberIn(0, 1, true).optional(),
});
export type TabularRandomSearchOptions = z.infer<typeof tabularRandomSearchOptions>;

export interface TabularRandomSearchConfig {
  queries: number;
  pInit: number;
}

/** Margin of the scores: below zero when the goal holds. */
function margins(
  scores: Float32Array,
  count: number,
  k: number,
  goal: Int32Array,
  rows: readonly number[],
  targeted: boolean,
): Float64Array {
  const out = new Float64Array(count);
  for (let r = 0; r < count; r++) {
    const g = goal[rows[r] as number] as number;
    let other = -Infinity;
    for (let j = 0; j < k; j++) if (j !== g) other = Math.max(other, scores[r * k + j] as number);
    const own = scores[r * k + g] as number;
    out[r] = targeted ? other - own : own - other;
  }
  return out;
}

async function randomSearch(context: TabularContext, config: TabularRandomSearchConfig): Promise<AttackOutcome> {
  const { model, n, constraints: c, clean, goalClasses, targeted } = context;
  const d = c.features;
  const k = model.numClasses;
  const rng = createRng(context.seed);
  const lo = new Float64Array(n * d);
  const hi = new Float64Array(n * d);
  for (let i = 0; i < n; i++) changeBox(c, clean, i * d, lo.subarray(i * d, (i + 1) * d), hi.subarray(i * d, (i + 1) * d));
  const mutable = Array.from({ length: d }, (_, f) => f).filter((f) => c.mutable[f] === 1);
  const draw = (i: number, f: number): number => {
    const a = lo[i * d + f] as number;
    const b = hi[i * d + f] as number;
    return rng.next() < 0.5 ? (rng.next() < 0.5 ? a : b) : a + rng.next() * (b - a);
  };
  // The start: every mutable feature drawn, projected; one query per row.
  const candidate = Float32Array.from(clean);
  for (let i = 0; i < n; i++) for (const f of mutable) candidate[i * d + f] = (clean[i * d + f] as number) + draw(i, f);
  let current = projectRows(c, clean, candidate, n);
  const all = Array.from({ length: n }, (_, i) => i);
  const startScores = await logitsOf(model, current, n);
  const best = margins(startScores, n, k, goalClasses, all, targeted);
  const success = new Uint8Array(n);
  const predicted = argmaxRows(startScores, n, k);
  for (let i = 0; i < n; i++) success[i] = goalMet(predicted[i] as number, goalClasses[i] as number, targeted) ? 1 : 0;
  const queries = new Int32Array(n).fill(1);
  for (let q = 1; q < config.queries && mutable.length > 0; q++) {
    const active = all.filter((i) => !success[i]);
    if (active.length === 0) break;
    const share = squareFraction(config.pInit, q, config.queries);
    const redraw = Math.max(1, Math.round(share * mutable.length));
    const proposals = new Float32Array(active.length * d);
    const base = new Float32Array(active.length * d);
    active.forEach((i, r) => {
      proposals.set(current.subarray(i * d, (i + 1) * d), r * d);
      base.set(clean.subarray(i * d, (i + 1) * d), r * d);
      const chosen = rng.shuffle([...mutable]).slice(0, redraw);
      for (const f of chosen) proposals[r * d + f] = (clean[i * d + f] as number) + draw(i, f);
    });
    const projected = projectRows(c, base, proposals, active.length);
    const scores = await logitsOf(model, projected, active.length);
    const m = margins(scores, active.length, k, goalClasses, active, targeted);
    const p = argmaxRows(scores, active.length, k);
    active.forEach((i, r) => {
      queries[i] = (queries[i] as number) + 1;
      if ((m[r] as number) < (best[i] as number)) {
        best[i] = m[r] as number;
        current.set(projected.subarray(r * d, (r + 1) * d), i * d);
        if (goalMet(p[r] as number, goalClasses[i] as number, targeted)) success[i] = 1;
      }
    });
    context.onProgress({ done: q, total: config.queries - 1 });
  }
  if (mutable.length === 0) current = Float32Array.from(clean);
  return { adversarial: tf.tensor(current, context.x.shape, 'float32'), success, queries };
}

/**
 * Runs the constrained random search on a batch of rows.
 *
 * @throws as {@link wrapTabularAttack}; UsageError `E_TARGET_ACCESS` for a label-only target.
 */
export const tabularRandomSearchAttack = wrapTabularAttack<TabularRandomSearchConfig>('tabular-random-search', 'scores', randomSearch);

/**
 * @throws UsageError `E_ATTACK_OPTION` for an unknown option or a value out of range.
 * @example const result = await tabularRandomSearch({ queries: 500 }).run(target, x, labels, threat);
 */
export function tabularRandomSearch(options: TabularRandomSearchOptions = {}): Attack {
  const o = parseAttackOptions('tabular-random-search', tabularRandomSearchOptions, options);
  return attackOf('tabular-random-search', { queries: o.queries ?? 1000, pInit: o.pInit ?? 0.5 }, tabularRandomSearchAttack);
}

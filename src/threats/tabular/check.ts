/**
 * The validator: which constraints a perturbed row breaks, relative to its clean row. The
 * attack wrapper runs it on every adversarial example; callers use it on data (a clean row
 * checked against itself reports range, integer and one-hot breaks).
 */
import type { TabularConstraints } from './compile.js';
import { scaledDistance } from './project.js';

export type ConstraintRule = 'immutable' | 'range' | 'integer' | 'one-hot' | 'monotone' | 'budget' | 'norm';

export interface ConstraintViolation {
  /** Row of the batch. */
  readonly row: number;
  readonly rule: ConstraintRule;
  /** The feature's name (the first of the group for one-hot, absent for the norm). */
  readonly feature?: string;
  /** The offending value: the feature's value or change, the group's sum, or the row's distance. */
  readonly value: number;
  /** The limit it broke. */
  readonly limit: number;
}

/** Absolute slack per unit of a value's size: float32 storage of a projected double. */
const SLACK = 1e-5;

const tol = (limit: number): number => SLACK * Math.max(1, Math.abs(limit));

/**
 * Checks `count` perturbed rows against their clean rows.
 *
 * @example const violations = checkRows(constraints, clean, adversarial, 64); // [] when every row is feasible
 */
export function checkRows(c: TabularConstraints, x0: Float32Array, xadv: Float32Array, count: number): ConstraintViolation[] {
  const out: ConstraintViolation[] = [];
  const d = c.features;
  const delta = new Float64Array(d);
  for (let row = 0; row < count; row++) {
    const o = row * d;
    for (let f = 0; f < d; f++) {
      const x = xadv[o + f] as number;
      const change = x - (x0[o + f] as number);
      delta[f] = change;
      const feature = c.names[f] as string;
      const lower = c.lower[f] as number;
      const upper = c.upper[f] as number;
      if (!c.mutable[f] && change !== 0) out.push({ row, rule: 'immutable', feature, value: change, limit: 0 });
      if (!(x >= lower - tol(lower)) || !(x <= upper + tol(upper)))
        out.push({ row, rule: 'range', feature, value: x, limit: x < lower ? lower : upper });
      if (c.integer[f] && !Number.isInteger(x)) out.push({ row, rule: 'integer', feature, value: x, limit: Math.round(x) });
      if ((c.direction[f] === 1 && change < -tol(0)) || (c.direction[f] === -1 && change > tol(0)))
        out.push({ row, rule: 'monotone', feature, value: change, limit: 0 });
      const budget = c.budget[f] as number;
      if (Math.abs(change) > budget + tol(budget)) out.push({ row, rule: 'budget', feature, value: change, limit: budget });
    }
    for (const group of c.oneHot) {
      let sum = 0;
      let binary = true;
      for (const f of group) {
        const v = xadv[o + f] as number;
        sum += v;
        if (v !== 0 && v !== 1) binary = false;
      }
      if (!binary || sum !== 1) out.push({ row, rule: 'one-hot', feature: c.names[group[0] as number] as string, value: sum, limit: 1 });
    }
    const distance = scaledDistance(c, delta);
    if (distance > c.epsilon + tol(c.epsilon)) out.push({ row, rule: 'norm', value: distance, limit: c.epsilon });
  }
  return out;
}

/** One line per violation (at most `max`), for error messages. */
export function describeViolations(violations: readonly ConstraintViolation[], max = 5): string {
  const lines = violations
    .slice(0, max)
    .map((v) => `row ${v.row}: ${v.rule}${v.feature === undefined ? '' : ` of '${v.feature}'`} at ${v.value} (limit ${v.limit})`);
  const more = violations.length > max ? `; and ${violations.length - max} more` : '';
  return lines.join('; ') + more;
}

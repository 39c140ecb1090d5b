/**
 * Projection onto the feasible set of tabular constraints around a clean row: the
 * per-feature box (ranges, immutability, monotone directions, budgets and, for L∞, the
 * scaled ball) intersected with the overall norm ball, then a repair step for one-hot
 * groups and integer features that keeps the point feasible. Rows are short, so the
 * projection runs per row in JavaScript, in double precision; `projection` wraps it as
 * the tensor hook the shared attack loops take.
 */
import * as tf from '@tensorflow/tfjs';
import { getNorm, type Norm } from '../norms.js';
import type { TabularConstraints } from './compile.js';

/** The hook the gradient loops call instead of "clip to the ball and the bounds". */
export type Projection = (x0: tf.Tensor, point: tf.Tensor) => tf.Tensor;

/** Relative slack of the norm test after repair: float rounding must not trigger a fallback. */
const NORM_SLACK = 1e-6;
const BISECTION_STEPS = 60;

/** The box of allowed changes `[lo, hi]` of one row (always containing 0). */
export function changeBox(c: TabularConstraints, x0: ArrayLike<number>, offset: number, lo: Float64Array, hi: Float64Array): void {
  const linfCap = c.norm === 'linf';
  for (let f = 0; f < c.features; f++) {
    const x = x0[offset + f] as number;
    let a = 0;
    let b = 0;
    if (c.mutable[f]) {
      const budget = c.budget[f] as number;
      a = Math.max((c.lower[f] as number) - x, -budget);
      b = Math.min((c.upper[f] as number) - x, budget);
      if (c.direction[f] === 1) a = Math.max(a, 0);
      if (c.direction[f] === -1) b = Math.min(b, 0);
      if (linfCap) {
        const cap = c.epsilon * (c.scale[f] as number);
        a = Math.max(a, -cap);
        b = Math.min(b, cap);
      }
    }
    // A clean value outside its range would leave 0 outside the box; the row then stays put there.
    lo[f] = Math.min(a, 0);
    hi[f] = Math.max(b, 0);
  }
}

/** Size of a change in the constraints' scaled norm. */
export function scaledDistance(c: TabularConstraints, delta: ArrayLike<number>, offset = 0): number {
  let d = 0;
  for (let f = 0; f < c.features; f++) {
    const u = Math.abs((delta[offset + f] as number) / (c.scale[f] as number));
    d = c.norm === 'linf' ? Math.max(d, u) : d + u * u;
  }
  return c.norm === 'linf' ? d : Math.sqrt(d);
}

const clip = (v: number, a: number, b: number): number => Math.min(Math.max(v, a), b);

/** Euclidean projection (in scaled units) onto box ∩ ball: clip(v / (1 + λ)) with λ found by bisection. */
function ballBox(c: TabularConstraints, v: Float64Array, lo: Float64Array, hi: Float64Array, out: Float64Array): void {
  const d = c.features;
  const at = (lambda: number): number => {
    let sq = 0;
    for (let f = 0; f < d; f++) {
      const s = c.scale[f] as number;
      const u = clip((v[f] as number) / s / (1 + lambda), (lo[f] as number) / s, (hi[f] as number) / s);
      out[f] = u * s;
      sq += u * u;
    }
    return Math.sqrt(sq);
  };
  if (c.norm === 'linf' || at(0) <= c.epsilon) return;
  let vNorm = 0;
  for (let f = 0; f < d; f++) vNorm += ((v[f] as number) / (c.scale[f] as number)) ** 2;
  let low = 0;
  let high = c.epsilon > 0 ? Math.max(Math.sqrt(vNorm) / c.epsilon - 1, 0) : Infinity;
  if (!Number.isFinite(high)) {
    out.fill(0);
    return;
  }
  for (let k = 0; k < BISECTION_STEPS; k++) {
    const mid = (low + high) / 2;
    if (at(mid) > c.epsilon) low = mid;
    else high = mid;
  }
  at(high);
}

/** Sets each one-hot group to its most active category among those the box lets it reach. */
function repairOneHot(
  c: TabularConstraints,
  x0: ArrayLike<number>,
  offset: number,
  delta: Float64Array,
  lo: Float64Array,
  hi: Float64Array,
): void {
  for (const group of c.oneHot) {
    const reach = (f: number, value: number): boolean => {
      const change = value - (x0[offset + f] as number);
      return change >= (lo[f] as number) - 1e-12 && change <= (hi[f] as number) + 1e-12;
    };
    let best = -1;
    let bestValue = -Infinity;
    for (const j of group) {
      const allowed = reach(j, 1) && group.every((k) => k === j || reach(k, 0));
      const value = (x0[offset + j] as number) + (delta[j] as number);
      if (allowed && value > bestValue) {
        best = j;
        bestValue = value;
      }
    }
    for (const k of group) delta[k] = best < 0 ? 0 : (k === best ? 1 : 0) - (x0[offset + k] as number);
  }
}

/** Rounds integer features to the nearest whole value inside the box (or truncates toward the clean value). */
function repairIntegers(
  c: TabularConstraints,
  x0: ArrayLike<number>,
  offset: number,
  delta: Float64Array,
  lo: Float64Array,
  hi: Float64Array,
  inGroup: Uint8Array,
  truncate: boolean,
): void {
  for (let f = 0; f < c.features; f++) {
    if (!c.integer[f] || inGroup[f]) continue;
    const x = x0[offset + f] as number;
    const low = Math.ceil(x + (lo[f] as number) - 1e-9);
    const high = Math.floor(x + (hi[f] as number) + 1e-9);
    const moved = x + (delta[f] as number);
    const target = truncate ? x + Math.trunc(delta[f] as number) : Math.round(moved);
    delta[f] = low > high ? 0 : clip(target, low, high) - x;
  }
}

/**
 * Projects `count` row-major points onto the feasible set around their clean rows.
 * Idempotent: a feasible point is returned unchanged (to float32 rounding).
 *
 * @example const feasible = projectRows(constraints, clean, candidate, 32);
 */
export function projectRows(c: TabularConstraints, x0: Float32Array, points: Float32Array, count: number): Float32Array {
  const d = c.features;
  const out = new Float32Array(count * d);
  const lo = new Float64Array(d);
  const hi = new Float64Array(d);
  const v = new Float64Array(d);
  const continuous = new Float64Array(d);
  const delta = new Float64Array(d);
  const inGroup = new Uint8Array(d);
  for (const group of c.oneHot) for (const f of group) inGroup[f] = 1;
  const discrete = c.oneHot.length > 0 || c.integer.some((v) => v === 1);
  for (let i = 0; i < count; i++) {
    const o = i * d;
    changeBox(c, x0, o, lo, hi);
    for (let f = 0; f < d; f++) {
      v[f] = (points[o + f] as number) - (x0[o + f] as number);
      continuous[f] = clip(v[f] as number, lo[f] as number, hi[f] as number);
    }
    ballBox(c, v, lo, hi, continuous);
    delta.set(continuous);
    if (discrete) {
      repairOneHot(c, x0, o, delta, lo, hi);
      repairIntegers(c, x0, o, delta, lo, hi, inGroup, false);
      if (scaledDistance(c, delta) > c.epsilon * (1 + NORM_SLACK)) {
        // Rounding up or switching a category cost budget: fall back to changes no larger
        // than the continuous point's, feature by feature, which lies in the ball.
        delta.set(continuous);
        for (const group of c.oneHot) for (const f of group) delta[f] = 0;
        repairIntegers(c, x0, o, delta, lo, hi, inGroup, true);
      }
    }
    for (let f = 0; f < d; f++) out[o + f] = (x0[o + f] as number) + (delta[f] as number);
  }
  return out;
}

/**
 * The projection as a tensor hook for the shared loops (`x0` and `point` are `[batch, ...]`).
 *
 * @example const project = projection(constraints); const feasible = project(x, candidate);
 */
export function projection(c: TabularConstraints): Projection {
  return (x0, point) => {
    const n = point.shape[0] ?? 1;
    return tf.tensor(projectRows(c, x0.dataSync() as Float32Array, point.dataSync() as Float32Array, n), point.shape, 'float32');
  };
}

/**
 * The constraints' overall norm as `Norm` hooks: changes divided by the per-feature scale,
 * steps only along mutable features. With unit scales and every feature mutable it is the
 * plain norm.
 */
export function scaledNorm(c: TabularConstraints): Norm {
  const base = getNorm(c.norm);
  if (c.scale.every((s) => s === 1) && c.mutable.every((m) => m === 1)) return base;
  const scale = Float32Array.from(c.scale);
  const stepScale = Float32Array.from(c.scale, (s, f) => s * (c.mutable[f] as number));
  const shaped = (values: Float32Array, like: readonly number[]): tf.Tensor => tf.tensor(values, like.slice(1), 'float32');
  return {
    id: base.id,
    distance: (delta) => tf.tidy(() => base.distance(tf.div(delta, shaped(scale, delta.shape)))),
    project: (delta, epsilon) =>
      tf.tidy(() => tf.mul(base.project(tf.div(delta, shaped(scale, delta.shape)), epsilon), shaped(scale, delta.shape))),
    normalizeStep: (gradient) =>
      tf.tidy(() => {
        const s = shaped(stepScale, gradient.shape);
        return tf.mul(base.normalizeStep(tf.mul(gradient, s)), s);
      }),
    randomStart: (shape, epsilon, seed) => tf.tidy(() => tf.mul(base.randomStart(shape, epsilon, seed), shaped(stepScale, shape))),
  };
}

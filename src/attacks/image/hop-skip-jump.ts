/**
 * HopSkipJump — "HopSkipJumpAttack: A Query-Efficient Decision-Based Attack", Chen,
 * Jordan, Wainwright, IEEE S&P 2020, https://arxiv.org/abs/1904.02144
 *
 * Norm: L2 or L∞, from the threat model. Decision-based: it sees only the predicted class
 * (argmax), never scores or gradients. From an adversarial starting point (uniform noise,
 * blended towards the input by a binary search) it alternates a binary search to the
 * decision boundary, a Monte-Carlo estimate of the boundary's normal from the signs of
 * `B₀·√t` random probes, and a geometric step-size search. A minimum-norm attack: against
 * a threat it returns the point found when it lies within epsilon, else its projection
 * onto the ball (success re-checked); `minNorm` holds the unbounded distances.
 * Defaults (the paper's): 64 iterations, B₀ = 100 probes (at most 10,000), γ = 1; plus a
 * budget of 5000 queries per example that is never exceeded (queries counted exactly).
 * A targeted goal needs noise the model assigns to the target; where 100 draws find
 * none, the example is reported as not broken.
 */
import { z } from 'zod';
import { positiveNumber, wholeNumber } from '../../core/option-schema.js';
import { createRng, type Rng } from '../../core/rng.js';
import type { Classifier } from '../../models/classifier.js';
import { parseAttackOptions } from '../option-schema.js';
import type { Attack } from '../types.js';
import { attackOf, wrapAttack, type AttackContext, type AttackOutcome } from '../wrapper.js';
import { finishMinNorm } from './min-norm.js';
import { goalMet, predictRows, rowDistances } from './rows.js';

export const hopSkipJumpOptions = z.strictObject({
  /** Iterations of boundary search + gradient estimate + step (default 64). */
  steps: wholeNumber(1).default(64),
  /** Model queries per example, all phases included (default 5000). */
  queries: wholeNumber(3).default(5000),
  /** Probes of the first gradient estimate, growing as √t (default 100). */
  initialEvals: wholeNumber(2).default(100),
  maxEvals: wholeNumber(2).default(10000),
  /** Binary-search precision factor γ (default 1). */
  gamma: positiveNumber().default(1),
});
/** The options as given (each may be left out for its default). */
export type HopSkipJumpOptions = z.input<typeof hopSkipJumpOptions>;
/** The options resolved, defaults filled in. */
export type HopSkipJumpConfig = z.infer<typeof hopSkipJumpOptions>;

/** Thrown inside one example's search when its query budget runs out. */
class BudgetSpent extends Error {}

interface ExampleSearch {
  model: Classifier;
  x0: Float32Array;
  goalClass: number;
  targeted: boolean;
  linf: boolean;
  bounds: { min: number; max: number };
  config: HopSkipJumpConfig;
  rng: Rng;
}

async function searchOne(s: ExampleSearch): Promise<{ point: Float32Array; found: boolean; queries: number }> {
  const { model, x0, config, rng, bounds, linf } = s;
  const d = x0.length;
  const clip = (v: number): number => Math.min(bounds.max, Math.max(bounds.min, v));
  let queries = 0;
  /** Labels only: whether each point meets the goal. Throws once the budget would be exceeded. */
  const decide = async (points: Float32Array[]): Promise<boolean[]> => {
    if (queries + points.length > config.queries) throw new BudgetSpent();
    const rows = new Float32Array(points.length * d);
    points.forEach((p, k) => rows.set(p, k * d));
    queries += points.length;
    const classes = await predictRows(model, rows, points.length);
    return Array.from(classes, (c) => goalMet(c, s.goalClass, s.targeted));
  };
  const distance = (a: Float32Array): number => {
    let t = 0;
    for (let k = 0; k < d; k++) {
      const v = Math.abs((a[k] as number) - (x0[k] as number));
      t = linf ? Math.max(t, v) : t + v * v;
    }
    return linf ? t : Math.sqrt(t);
  };
  const theta = linf ? config.gamma / (d * d) : config.gamma / (Math.sqrt(d) * d);
  /** The point at parameter `alpha` between x0 and `p`: a blend (L2) or a clip of the perturbation (L∞). */
  const towards = (p: Float32Array, alpha: number): Float32Array =>
    Float32Array.from(p, (v, k) => {
      const o = x0[k] as number;
      return linf ? o + Math.min(alpha, Math.max(-alpha, v - o)) : (1 - alpha) * o + alpha * v;
    });
  /** Binary search along the segment for the boundary; returns an adversarial point. */
  const toBoundary = async (p: Float32Array): Promise<Float32Array> => {
    const dist = distance(p);
    let high = linf ? dist : 1;
    let low = 0;
    const threshold = linf ? Math.min(dist * theta, theta) : theta;
    while ((high - low) / threshold > 1) {
      const mid = (high + low) / 2;
      const [adv] = await decide([towards(p, mid)]);
      if (adv) high = mid;
      else low = mid;
    }
    return towards(p, high);
  };

  let best = x0;
  let found = false;
  try {
    // Start: uniform noise that meets the goal, pulled towards x0 by a coarse binary search.
    let noise: Float32Array | undefined;
    for (let tries = 0; tries < 100 && !noise; tries += 10) {
      const draws = Array.from({ length: 10 }, () =>
        Float32Array.from({ length: d }, () => bounds.min + rng.next() * (bounds.max - bounds.min)),
      );
      const hits = await decide(draws);
      noise = draws[hits.indexOf(true)];
    }
    if (!noise) return { point: x0, found: false, queries };
    let low = 0;
    let high = 1;
    while (high - low > 0.001) {
      const mid = (high + low) / 2;
      const [adv] = await decide([Float32Array.from(noise, (v, k) => (1 - mid) * (x0[k] as number) + mid * v)]);
      if (adv) high = mid;
      else low = mid;
    }
    const start = Float32Array.from(noise, (v, k) => (1 - high) * (x0[k] as number) + high * v);
    best = start;
    found = true;
    let current = await toBoundary(start);
    best = current;
    let dist = distance(current);
    for (let t = 1; t <= config.steps; t++) {
      const delta = t === 1 ? 0.1 * (bounds.max - bounds.min) : (linf ? d : Math.sqrt(d)) * theta * dist;
      const evals = Math.min(Math.trunc(config.initialEvals * Math.sqrt(t)), config.maxEvals, config.queries - queries - 1);
      if (evals < 2) break;
      // Monte-Carlo estimate of the boundary normal from the decisions on random probes.
      const probes: Float32Array[] = [];
      const directions: Float64Array[] = [];
      for (let b = 0; b < evals; b++) {
        const rv = Float64Array.from({ length: d }, () => (linf ? 2 * rng.next() - 1 : rng.normal()));
        const size = Math.sqrt(rv.reduce((a, v) => a + v * v, 0)) || 1;
        const probe = Float32Array.from(current, (v, k) => clip(v + (delta * (rv[k] as number)) / size));
        probes.push(probe);
        directions.push(Float64Array.from(probe, (v, k) => (v - (current[k] as number)) / delta));
      }
      const decisions = (await decide(probes)).map((a) => (a ? 1 : -1));
      const mean = decisions.reduce((a, v) => a + v, 0) / evals;
      const gradient = new Float64Array(d);
      directions.forEach((rv, b) => {
        const weight = mean === 1 || mean === -1 ? mean : (decisions[b] as number) - mean;
        for (let k = 0; k < d; k++) gradient[k] = (gradient[k] as number) + (weight * (rv[k] as number)) / evals;
      });
      const gNorm = Math.sqrt(gradient.reduce((a, v) => a + v * v, 0)) || 1;
      const update = Float64Array.from(gradient, (v) => (linf ? Math.sign(v) : v / gNorm));
      // Geometric step-size search: halve until the step stays adversarial.
      let step = dist / Math.sqrt(t);
      let moved: Float32Array | undefined;
      for (let halvings = 0; halvings < 30 && !moved; halvings++) {
        const candidate = Float32Array.from(current, (v, k) => clip(v + step * (update[k] as number)));
        const [adv] = await decide([candidate]);
        if (adv) moved = candidate;
        else step /= 2;
      }
      if (!moved) break;
      current = await toBoundary(moved);
      const nextDist = distance(current);
      if (nextDist < distance(best)) best = current;
      dist = nextDist;
    }
  } catch (error) {
    if (!(error instanceof BudgetSpent)) throw error;
  }
  return { point: best, found, queries };
}

async function hopSkipJumpSearch(context: AttackContext, config: HopSkipJumpConfig): Promise<AttackOutcome> {
  const { model, threat, norm, targeted, goalClasses } = context;
  const { n, rowSize: d, clean } = context;
  const points = Float32Array.from(clean);
  const minNorm = new Float32Array(n).fill(Infinity);
  const queries = new Int32Array(n);
  const rng = createRng(context.seed);
  // One clean prediction per example (an input that already meets the goal needs no
  // search) and one final check in finishMinNorm: the search gets the budget minus two.
  const cleanClasses = await predictRows(model, clean, n);
  for (let i = 0; i < n; i++) {
    queries[i] = 1;
    const x0 = clean.subarray(i * d, (i + 1) * d);
    if (goalMet(cleanClasses[i] as number, goalClasses[i] as number, targeted)) {
      minNorm[i] = 0;
    } else {
      const outcome = await searchOne({
        model,
        x0,
        goalClass: goalClasses[i] as number,
        targeted,
        linf: norm.id === 'linf',
        bounds: threat.bounds,
        config: { ...config, queries: Math.min(config.queries, context.queryBudget ?? Infinity) - 2 },
        rng: rng.fork(),
      });
      queries[i] = (queries[i] as number) + outcome.queries;
      points.set(outcome.point, i * d);
      if (outcome.found) minNorm[i] = rowDistances(norm, outcome.point, x0, 1)[0] as number;
    }
    context.onProgress({ done: i + 1, total: n });
  }
  return finishMinNorm(context, { points, minNorm, queries });
}

/**
 * Runs HopSkipJump on a batch and answers to the threat as a minimum-norm attack. Reads
 * labels only, so it runs against any model.
 *
 * @throws InputError for a batch or labels that do not fit the model (see validateAttackInputs).
 * @example const result = await hopSkipJumpAttack(model, x, labels, threat, hopSkipJumpOptions.parse({ queries: 2000 }));
 */
export const hopSkipJumpAttack = wrapAttack('hsj', 'labels', hopSkipJumpSearch);

/**
 * @throws UsageError `E_ATTACK_OPTION` for an unknown option or a value out of range.
 * @example const result = await hopSkipJump({ queries: 2000 }).run(labelOnlyModel, x, labels, threatModel({ norm: 'l2', epsilon: 2 }));
 */
export function hopSkipJump(options: HopSkipJumpOptions = {}): Attack {
  return attackOf('hsj', parseAttackOptions('hsj', hopSkipJumpOptions, options), hopSkipJumpAttack);
}

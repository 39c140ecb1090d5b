/**
 * Threat models for tensor inputs: which perturbations an adversary may make. The id is a
 * stable string shared by plans, reports, the registry, the CLI and the HTTP API.
 */
import type { Bounds } from '../core/types.js';
import { ThreatError, UsageError } from '../core/errors.js';
import { getNorm, isSparseNorm, type ThreatNormId } from './norms.js';

/**
 * How the adversary reaches the model (a plan threat's `technique`): its gradients, its
 * scores, its labels only, or a surrogate whose examples transfer. Decides the attacks.
 */
export type ThreatTechnique = 'gradient' | 'score-based' | 'decision-based' | 'transfer';

/** What the adversary wants: any wrong class, or one chosen class. */
export type ThreatGoal = { kind: 'untargeted' } | { kind: 'targeted'; target: number };

export interface ThreatModel {
  /** e.g. `linf-0.3`, `patch-6`. */
  readonly id: string;
  /** An Lp norm, or a sparse/local threat (`l0` pixels, `patch` or `occlusion` box side). */
  readonly norm: ThreatNormId;
  readonly epsilon: number;
  readonly bounds: Bounds;
  /** Absent means `gradient` (white-box), the strongest adversary. */
  readonly technique?: ThreatTechnique;
  /** Absent means untargeted. */
  readonly goal?: ThreatGoal;
}

export interface ThreatModelSpec {
  norm: string;
  epsilon: number;
  bounds?: Bounds;
  id?: string;
  technique?: ThreatTechnique;
  goal?: ThreatGoal;
}

/**
 * Builds and validates a threat model.
 *
 * @throws UsageError `E_UNKNOWN_NORM` for a norm that does not exist.
 * @throws ThreatError `E_EPSILON_RANGE` when epsilon is negative, not finite, or (for L∞)
 *   larger than the input range, where every input is reachable and the threat is void.
 * @throws ThreatError `E_EPSILON_RANGE` for a sparse threat (`l0`, `patch`, `occlusion`) whose budget is
 *   not a whole number of pixels.
 * @throws ThreatError `E_BOUNDS` when bounds are not finite or min >= max.
 * @throws ThreatError `E_THREAT_TARGET` for a targeted goal without a class index.
 * @example
 * const threat = threatModel({ norm: 'linf', epsilon: 0.3 });
 */
export function threatModel(spec: ThreatModelSpec): ThreatModel {
  const norm = getNorm(spec.norm).id;
  const bounds = spec.bounds ?? { min: 0, max: 1 };
  if (!Number.isFinite(bounds.min) || !Number.isFinite(bounds.max) || bounds.min >= bounds.max) {
    throw new ThreatError('E_BOUNDS', `Bounds must be finite with min < max; got [${bounds.min}, ${bounds.max}].`, { details: { bounds } });
  }
  const { epsilon } = spec;
  const range = bounds.max - bounds.min;
  if (typeof epsilon !== 'number' || !Number.isFinite(epsilon) || epsilon < 0) {
    throw new ThreatError('E_EPSILON_RANGE', `Epsilon must be a finite number >= 0; got ${String(epsilon)}.`, { details: { epsilon } });
  }
  if (isSparseNorm(norm) && !Number.isInteger(epsilon)) {
    const what = norm === 'l0' ? 'a number of pixels' : 'a box side in pixels';
    throw new ThreatError('E_EPSILON_RANGE', `A ${norm} budget is ${what} and must be a whole number; got ${epsilon}.`, {
      details: { epsilon, norm },
    });
  }
  if (norm === 'linf' && epsilon > range) {
    throw new ThreatError(
      'E_EPSILON_RANGE',
      `L∞ epsilon ${epsilon} exceeds the input range ${range} [${bounds.min}, ${bounds.max}]; every input would be reachable. Use an epsilon in [0, ${range}].`,
      {
        details: { epsilon, bounds },
      },
    );
  }
  if (spec.goal?.kind === 'targeted' && !(Number.isInteger(spec.goal.target) && spec.goal.target >= 0)) {
    throw new ThreatError('E_THREAT_TARGET', `A targeted threat needs a class index >= 0 as its target; got ${spec.goal.target}.`, {
      details: { target: spec.goal.target },
    });
  }
  return {
    id: spec.id ?? `${norm}-${epsilon}`,
    norm,
    epsilon,
    bounds,
    ...(spec.technique ? { technique: spec.technique } : {}),
    ...(spec.goal ? { goal: spec.goal } : {}),
  };
}

/**
 * Unnamed threat models of one norm at each epsilon (ids `linf-0.1`, ...), for callers
 * that have budgets rather than a plan's named threats.
 *
 * @throws as {@link threatModel}.
 * @example const threats = threatsAt('linf', [0, 0.1, 0.3], model.bounds);
 */
export function threatsAt(norm: string, epsilons: readonly number[], bounds?: Bounds): ThreatModel[] {
  return epsilons.map((epsilon) => threatModel({ norm, epsilon, ...(bounds ? { bounds } : {}) }));
}

/**
 * Threat models that must share one norm (one evaluation report is one norm's curve):
 * deduplicated by id, sorted by epsilon.
 *
 * @throws UsageError `E_THREAT_NORMS` for none or for mixed norms.
 */
export function sameNormThreats(threats: readonly ThreatModel[]): { norm: ThreatNormId; threats: ThreatModel[] } {
  const first = threats[0];
  if (!first) throw new UsageError('E_THREAT_NORMS', "Give at least one threat model to evaluate under, e.g. threatsAt('linf', [0.1]).");
  const norms = [...new Set(threats.map((t) => t.norm))];
  if (norms.length > 1) {
    throw new UsageError(
      'E_THREAT_NORMS',
      `Threat models of one evaluation must share a norm; got ${norms.join(', ')}. Evaluate each norm separately.`,
      { details: { norms } },
    );
  }
  const byId = new Map(threats.map((t) => [t.id, t]));
  return { norm: first.norm, threats: [...byId.values()].sort((a, b) => a.epsilon - b.epsilon || a.id.localeCompare(b.id)) };
}

/**
 * Parses a comma-separated epsilon list such as `0.1,0.2,0.3`.
 *
 * @throws ThreatError `E_EPSILON_RANGE` for an entry that is not a number >= 0.
 */
export function parseEpsilons(text: string): number[] {
  const parts = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (parts.length === 0) throw new ThreatError('E_EPSILON_RANGE', `No epsilon given in '${text}'; write e.g. 0.1,0.2,0.3.`);
  return parts.map((p) => {
    const value = Number(p);
    if (!Number.isFinite(value) || value < 0) {
      throw new ThreatError('E_EPSILON_RANGE', `Epsilon '${p}' is not a number >= 0; write e.g. 0.1,0.2,0.3.`, { details: { value: p } });
    }
    return value;
  });
}

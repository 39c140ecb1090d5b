/**
 * Training objectives by stable id, built from loose options as they arrive from a plan,
 * the CLI or the HTTP API. Each id takes only the options that mean something for it; any
 * objective can be wrapped in adversarial weight perturbation with `awp`.
 */
import { UsageError, listChoices } from '../../core/errors.js';
import type { Bounds } from '../../core/types.js';
import type { ThreatModelSpec } from '../../threats/threat-model.js';
import { awp, type AwpOptions } from './awp.js';
import { diversified, type DiversifiedMember } from './diversified.js';
import { fgsmRs } from './fgsm-rs.js';
import { noise } from './noise.js';
import { rejectUnknownOptions } from './options.js';
import { pgdAt } from './pgd-at.js';
import { standardObjective } from './standard.js';
import { trades } from './trades.js';
import type { Objective } from './types.js';

export const OBJECTIVE_IDS = ['standard', 'pgd-at', 'trades', 'fgsm-rs', 'noise', 'diversified'] as const;
export type ObjectiveId = (typeof OBJECTIVE_IDS)[number];

/** One adversary of a `diversified` objective. */
export interface ObjectiveMemberSpec {
  id: string;
  /** Relative probability of drawing this member per batch (>= 0). */
  weight: number;
  options?: ObjectiveOptions;
}

/** Options of every objective; each id accepts the subset listed in {@link objectiveOptionNames}. */
export interface ObjectiveOptions {
  /** pgd-at, trades, fgsm-rs: the threat to train against, e.g. `{ norm: 'linf', epsilon: 0.3 }`. */
  threat?: ThreatModelSpec;
  /** pgd-at, trades: ascent steps (default 10). */
  steps?: number;
  /** pgd-at, trades (default 2.5 * epsilon / steps), fgsm-rs (default 1.25 * epsilon). */
  stepSize?: number;
  /** pgd-at: random start in the ball (default true). */
  randomStart?: boolean;
  /** pgd-at: weight r of the adversarial term, (1 − r) * CE(clean) + r * CE(adv) (default 1). */
  mixRatio?: number;
  /** trades: weight of the KL term (default 6). */
  beta?: number;
  /** noise: standard deviation (default 0.25). */
  sigma?: number;
  /** noise: clip the noisy inputs to these bounds (default: unclipped). */
  bounds?: Bounds;
  /** diversified: the adversaries and their weights. */
  members?: readonly ObjectiveMemberSpec[];
  /** Any id: wrap in adversarial weight perturbation; `true` for the defaults (γ = 5e-3). */
  awp?: boolean | AwpOptions;
}

const OPTIONS: Record<ObjectiveId, readonly (keyof ObjectiveOptions)[]> = {
  standard: [],
  'pgd-at': ['threat', 'steps', 'stepSize', 'randomStart', 'mixRatio'],
  trades: ['threat', 'steps', 'stepSize', 'beta'],
  'fgsm-rs': ['threat', 'stepSize'],
  noise: ['sigma', 'bounds'],
  diversified: ['members'],
};

/** The ids `createObjective` accepts. */
export function objectiveIds(): readonly ObjectiveId[] {
  return OBJECTIVE_IDS;
}

/** The options an objective id accepts (besides `awp`, which every id accepts). */
export function objectiveOptionNames(id: ObjectiveId): readonly string[] {
  return OPTIONS[id];
}

function optionError(id: string, name: string, message: string, value: unknown): UsageError {
  return new UsageError('E_OBJECTIVE_OPTION', `${id} option '${name}' ${message}`, { details: { objective: id, option: name, value } });
}

function members(value: unknown): DiversifiedMember[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw optionError('diversified', 'members', `must list at least one { id, weight, options }; got ${JSON.stringify(value)}.`, value);
  }
  return value.map((entry: unknown, i) => {
    const spec = entry as Partial<ObjectiveMemberSpec> | null;
    if (typeof spec !== 'object' || spec === null || typeof spec.id !== 'string') {
      throw optionError('diversified', 'members', `entry ${i} must be { id, weight, options }; got ${JSON.stringify(entry)}.`, entry);
    }
    // The weight itself is checked by diversified(), with the others.
    return { objective: createObjective(spec.id, spec.options ?? {}), weight: spec.weight as number };
  });
}

function build(id: ObjectiveId, o: ObjectiveOptions): Objective {
  switch (id) {
    case 'standard':
      return standardObjective();
    case 'pgd-at':
      return pgdAt({ threat: o.threat as ThreatModelSpec, steps: o.steps, stepSize: o.stepSize, randomStart: o.randomStart, mixRatio: o.mixRatio });
    case 'trades':
      return trades({ threat: o.threat as ThreatModelSpec, steps: o.steps, stepSize: o.stepSize, beta: o.beta });
    case 'fgsm-rs':
      return fgsmRs({ threat: o.threat as ThreatModelSpec, stepSize: o.stepSize });
    case 'noise':
      return noise({ sigma: o.sigma, bounds: o.bounds });
    case 'diversified':
      return diversified({ members: members(o.members) });
  }
}

/** True when the options, or any diversified member's, turn on adversarial weight perturbation. */
function usesWeightPerturbation(options: ObjectiveOptions): boolean {
  if (options.awp !== undefined && options.awp !== false) return true;
  return (options.members ?? []).some((m) => usesWeightPerturbation(m.options ?? {}));
}

/**
 * Builds a training objective from its id and loose options.
 *
 * @throws UsageError `E_UNKNOWN_OBJECTIVE` listing the valid ids.
 * @throws UsageError `E_OBJECTIVE_OPTION` for an option the id does not take, a missing
 *   threat, or a value out of range (mixRatio outside [0, 1], β < 0, an epsilon the
 *   threat model rejects — its ThreatError is the `cause` —, a negative weight...).
 * @example
 * const objective = createObjective('pgd-at', { threat: { norm: 'linf', epsilon: 0.3 }, steps: 10, awp: true });
 */
export function createObjective(id: string, options: ObjectiveOptions = {}): Objective {
  if (!(OBJECTIVE_IDS as readonly string[]).includes(id)) {
    throw new UsageError('E_UNKNOWN_OBJECTIVE', `Unknown training objective '${id}'; use ${listChoices(OBJECTIVE_IDS)}.`, {
      details: { value: id, valid: OBJECTIVE_IDS },
    });
  }
  const known = id as ObjectiveId;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw optionError(known, 'options', `must be an object; got ${JSON.stringify(options)}.`, options);
  }
  rejectUnknownOptions(known, options, [...OPTIONS[known], 'awp']);
  const objective = build(known, options);
  const weightPerturbation = options.awp;
  if (weightPerturbation === undefined || weightPerturbation === false) {
    return usesWeightPerturbation(options) ? objective : { ...objective, spec: { id: known, options: structuredClone(options) } };
  }
  if (weightPerturbation === true) return awp(objective);
  if (typeof weightPerturbation !== 'object' || weightPerturbation === null || Array.isArray(weightPerturbation)) {
    throw optionError(known, 'awp', `must be true, false or { gamma, warmupEpochs }; got ${JSON.stringify(weightPerturbation)}.`, weightPerturbation);
  }
  return awp(objective, weightPerturbation);
}

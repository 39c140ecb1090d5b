/**
 * Training objectives by stable id, built from loose options as they arrive from a plan,
 * the CLI or the HTTP API. Each id's options are parsed by its own schema (`schemas.ts`);
 * any objective can be wrapped in adversarial weight perturbation with `awp`.
 */
import type { z } from 'zod';
import { UsageError, listChoices } from '../../core/errors.js';
import { awp } from './awp.js';
import { diversified } from './diversified.js';
import { fgsmRs } from './fgsm-rs.js';
import { noise } from './noise.js';
import { pgdAt } from './pgd-at.js';
import { patchAt } from './patch-at.js';
import { occlusionAt } from './occlusion-at.js';
import { sparseAt } from './sparse-at.js';
import { tabularPgdAt } from './tabular-pgd-at.js';
import {
  awpOptions,
  awpSwitch,
  diversifiedOptions,
  fgsmRsOptions,
  noiseOptions,
  occlusionAtOptions,
  parseObjectiveOptions,
  patchAtOptions,
  pgdAtOptions,
  sparseAtOptions,
  standardOptions,
  tabularPgdAtOptions,
  tradesOptions,
  type ObjectiveOptions,
} from './schemas.js';
import { standardObjective } from './standard.js';
import { trades } from './trades.js';
import type { Objective } from './types.js';

export type { ObjectiveMemberSpec, ObjectiveOptions } from './schemas.js';

export const OBJECTIVE_IDS = [
  'standard',
  'pgd-at',
  'trades',
  'fgsm-rs',
  'noise',
  'diversified',
  'patch-at',
  'tabular-pgd-at',
  'sparse-at',
  'occlusion-at',
] as const;
export type ObjectiveId = (typeof OBJECTIVE_IDS)[number];

interface Entry {
  /** The option names of the id's schema (without `awp`, which every id takes). */
  options: readonly string[];
  /** Parses the options (all but `awp`) with the id's schema and builds the objective. */
  create: (options: Record<string, unknown>) => Objective;
}

/** Binds a schema to its builder, so the parsed options reach the builder with their type, no cast. */
function entry<S extends z.ZodObject>(id: ObjectiveId, schema: S, build: (options: z.output<S>) => Objective): Entry {
  return { options: Object.keys(schema.shape), create: (options) => build(parseObjectiveOptions(id, schema, options, ['awp'])) };
}

const OBJECTIVES: Record<ObjectiveId, Entry> = {
  standard: entry('standard', standardOptions, () => standardObjective()),
  'pgd-at': entry('pgd-at', pgdAtOptions, pgdAt),
  'patch-at': entry('patch-at', patchAtOptions, patchAt),
  'tabular-pgd-at': entry('tabular-pgd-at', tabularPgdAtOptions, tabularPgdAt),
  'sparse-at': entry('sparse-at', sparseAtOptions, sparseAt),
  'occlusion-at': entry('occlusion-at', occlusionAtOptions, occlusionAt),
  trades: entry('trades', tradesOptions, trades),
  'fgsm-rs': entry('fgsm-rs', fgsmRsOptions, fgsmRs),
  noise: entry('noise', noiseOptions, noise),
  // The members' weights are checked by diversified(), with the others.
  diversified: entry('diversified', diversifiedOptions, (o) =>
    diversified({ members: o.members.map((m) => ({ objective: createObjective(m.id, m.options ?? {}), weight: m.weight })) }),
  ),
};

/** The ids `createObjective` accepts. */
export function objectiveIds(): readonly ObjectiveId[] {
  return OBJECTIVE_IDS;
}

/** The options an objective id accepts (besides `awp`, which every id accepts). */
export function objectiveOptionNames(id: ObjectiveId): readonly string[] {
  return OBJECTIVES[id].options;
}

/** True when the options, or any diversified member's, turn on adversarial weight perturbation. */
function usesWeightPerturbation(options: ObjectiveOptions): boolean {
  if (options.awp !== undefined && options.awp !== false) return true;
  return (options.members ?? []).some((m) => usesWeightPerturbation(m.options ?? {}));
}

function isObjectiveId(id: string): id is ObjectiveId {
  return (OBJECTIVE_IDS as readonly string[]).includes(id);
}

/**
 * Builds a training objective from its id and loose options.
 *
 * @throws UsageError `E_UNKNOWN_OBJECTIVE` listing the valid ids.
 * @throws UsageError `E_OBJECTIVE_OPTION` for an option the id does not take (naming the
 *   ones it does), a missing threat, or a value out of range (mixRatio outside [0, 1],
 *   β < 0, an epsilon the threat model rejects — its ThreatError is the `cause` —, a
 *   negative weight...).
 * @example
 * const objective = createObjective('pgd-at', { threat: { norm: 'linf', epsilon: 0.3 }, steps: 10, awp: true });
 */
export function createObjective(id: string, options: ObjectiveOptions = {}): Objective {
  if (!isObjectiveId(id)) {
    throw new UsageError('E_UNKNOWN_OBJECTIVE', `Unknown training objective '${id}'; use ${listChoices(OBJECTIVE_IDS)}.`, {
      details: { value: id, valid: OBJECTIVE_IDS },
    });
  }
  const { awp: weightPerturbation, ...rest } = parseObjectiveOptions(id, awpSwitch.loose(), options, OBJECTIVES[id].options);
  const objective = OBJECTIVES[id].create(rest);
  if (weightPerturbation === undefined || weightPerturbation === false) {
    return usesWeightPerturbation(options) ? objective : { ...objective, spec: { id, options: structuredClone(options) } };
  }
  return awp(objective, weightPerturbation === true ? {} : parseObjectiveOptions('awp', awpOptions, weightPerturbation));
}

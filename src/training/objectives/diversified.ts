/**
 * Diversified perturbations: each batch trains against one adversary drawn from a weighted
 * set (e.g. PGD L∞, PGD L2 and Gaussian noise), so the model cannot overfit the quirks of a
 * single attack or norm. A cheap form of multi-perturbation adversarial training — cf.
 * "Adversarial Training and Robustness for Multiple Perturbations", Tramèr, Boneh,
 * NeurIPS 2019, https://arxiv.org/abs/1904.13000, which trains on the worst ("max") or on
 * all ("avg") adversaries of every batch; drawing one costs a single attack per batch.
 *
 * The draw is a pure function of the batch seed, so `prepare`, `loss` and `afterUpdate`
 * agree on the member without shared state, a resumed run draws the same sequence, and a
 * wrapper such as AWP composes with it. The member sees its own seed derived from the
 * batch seed. Defaults: none; give at least one member with a weight > 0.
 */
import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../../core/errors.js';
import { createRng } from '../../core/rng.js';
import type { Objective, ObjectiveBatch } from './types.js';

export interface DiversifiedMember {
  objective: Objective;
  /** Relative probability of drawing this member; >= 0, and the weights must sum to > 0. */
  weight: number;
}

export interface DiversifiedOptions {
  members: readonly DiversifiedMember[];
}

function invalid(message: string, value: unknown): never {
  throw new UsageError('E_OBJECTIVE_OPTION', `diversified option 'members' ${message}`, {
    details: { objective: 'diversified', option: 'members', value },
  });
}

/**
 * A mixture of objectives, one drawn per batch in proportion to its weight.
 *
 * @throws UsageError `E_OBJECTIVE_OPTION` for no members, a weight that is negative or
 *   not finite, or weights that sum to 0.
 * @example
 * const objective = diversified({ members: [
 *   { objective: pgdAt({ threat: { norm: 'linf', epsilon: 0.1 } }), weight: 2 },
 *   { objective: pgdAt({ threat: { norm: 'l2', epsilon: 1.5 } }), weight: 1 },
 *   { objective: noise({ sigma: 0.25 }), weight: 1 },
 * ] });
 */
export function diversified(options: DiversifiedOptions): Objective {
  const members = options.members;
  if (!Array.isArray(members) || members.length === 0) invalid('must list at least one { objective, weight }; got none.', members);
  members.forEach((m, i) => {
    if (typeof m?.objective?.loss !== 'function') invalid(`entry ${i} has no objective.`, m);
    if (typeof m.weight !== 'number' || !Number.isFinite(m.weight) || m.weight < 0) {
      invalid(`entry ${i} ('${m.objective.id}') has weight ${String(m.weight)}; weights must be finite numbers >= 0.`, m.weight);
    }
  });
  const total = members.reduce((s, m) => s + m.weight, 0);
  if (!(total > 0))
    invalid(
      'weights sum to 0; give at least one member a weight > 0.',
      members.map((m) => m.weight),
    );
  const cumulative: number[] = [];
  members.reduce((s, m) => {
    cumulative.push(s + m.weight / total);
    return s + m.weight / total;
  }, 0);

  /** The member for a batch, and the batch as that member sees it. */
  const draw = (batch: ObjectiveBatch): { objective: Objective; batch: ObjectiveBatch } => {
    const rng = createRng(batch.seed);
    const u = rng.next();
    let index = cumulative.findIndex((c) => u < c);
    // Rounding can leave the last cumulative value a hair below 1: fall back to the last member that can be drawn.
    if (index < 0) index = members.findLastIndex((m) => m.weight > 0);
    return { objective: (members[index] as DiversifiedMember).objective, batch: { ...batch, seed: rng.seed() } };
  };

  return {
    id: 'diversified',
    config: { members: members.map((m) => ({ id: m.objective.id, weight: m.weight, config: m.objective.config })) },
    prepare: async (model, batch) => {
      const chosen = draw(batch);
      return chosen.objective.prepare ? chosen.objective.prepare(model, chosen.batch) : tf.clone(batch.x);
    },
    loss: (model, batch, prepared) => {
      const chosen = draw(batch);
      return chosen.objective.loss(model, chosen.batch, prepared);
    },
    afterUpdate: (model, batch) => {
      const chosen = draw(batch);
      chosen.objective.afterUpdate?.(model, chosen.batch);
    },
  };
}

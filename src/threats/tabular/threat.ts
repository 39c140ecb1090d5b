/**
 * The tabular threat model: a `ThreatModel` (id, overall norm and budget, the envelope of
 * the feature ranges) that also carries its compiled constraints. Attacks that take a
 * plain threat read it as constraints with the ball and the bounds only.
 */
import { ThreatError } from '../../core/errors.js';
import type { Bounds } from '../../core/types.js';
import type { ThreatModel } from '../threat-model.js';
import { compileConstraints, plainConstraints, type FeatureSpace, type TabularConstraints } from './compile.js';
import type { TabularConstraintsSpec } from './schema.js';

export interface TabularThreat extends ThreatModel {
  readonly constraints: TabularConstraints;
}

/**
 * Builds a tabular threat from its constraints, compiled against the data's features.
 *
 * @throws ThreatError `E_TABULAR_CONSTRAINTS` (see {@link compileConstraints}).
 * @example
 * const constraints = { immutable: ['mote_id'], norm: { kind: 'linf', epsilon: 0.05 } } as const;
 * const threat = tabularThreat({ id: 'sensor-obfuscation', constraints }, {
 *   features: dataset.shape[0], featureNames: dataset.featureNames, featureBounds: dataset.featureBounds, bounds: dataset.bounds });
 */
export function tabularThreat(spec: { id: string; constraints: TabularConstraintsSpec }, space: FeatureSpace): TabularThreat {
  const constraints = compileConstraints(spec.constraints, space);
  let min = Infinity;
  let max = -Infinity;
  for (let f = 0; f < constraints.features; f++) {
    min = Math.min(min, constraints.lower[f] as number);
    max = Math.max(max, constraints.upper[f] as number);
  }
  const bounds: Bounds = { min, max: max > min ? max : min + 1 };
  return { id: spec.id, norm: constraints.norm, epsilon: constraints.epsilon, bounds, constraints };
}

/** True when a threat carries tabular constraints. */
export function isTabularThreat(threat: ThreatModel): threat is TabularThreat {
  return typeof (threat as Partial<TabularThreat>).constraints === 'object';
}

const plainCache = new WeakMap<ThreatModel, TabularConstraints>();

/**
 * The constraints of a threat: its own for a tabular threat, else the plain ball and bounds
 * over `features` values per row.
 *
 * @example const c = constraintsOf(threat, 7);
 */
export function constraintsOf(threat: ThreatModel, features: number): TabularConstraints {
  if (isTabularThreat(threat)) return threat.constraints;
  const cached = plainCache.get(threat);
  if (cached && cached.features === features) return cached;
  if (threat.norm !== 'linf' && threat.norm !== 'l2') {
    throw new ThreatError(
      'E_THREAT_NORM',
      `Threat '${threat.id}' uses the ${threat.norm} norm; tabular attacks search under linf or l2 budgets over features.`,
    );
  }
  const c = plainConstraints(features, threat.norm, threat.epsilon, threat.bounds);
  plainCache.set(threat, c);
  return c;
}

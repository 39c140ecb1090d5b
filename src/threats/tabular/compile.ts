/**
 * Constraints by feature index: the parsed plan declaration checked against the data's
 * feature names and folded into per-feature arrays that the projection and the checker
 * read. Plain data, no tensors.
 */
import { ThreatError } from '../../core/errors.js';
import type { Bounds } from '../../core/types.js';
import { parseOptions } from '../../core/option-schema.js';
import type { NormId } from '../norms.js';
import { tabularConstraintsSchema, type TabularConstraintsSpec } from './schema.js';

/** Direction a feature may move: 1 increase only, -1 decrease only, 0 either way. */
export type Direction = -1 | 0 | 1;

export interface TabularConstraints {
  /** Number of features of a row. */
  readonly features: number;
  /** Feature names (`f0`, `f1`... when the data has none). */
  readonly names: readonly string[];
  /** Absolute range per feature. */
  readonly lower: Float64Array;
  readonly upper: Float64Array;
  /** 1 where the attacker may change the feature. */
  readonly mutable: Uint8Array;
  readonly integer: Uint8Array;
  /** Feature indices of each one-hot group. */
  readonly oneHot: readonly (readonly number[])[];
  readonly direction: Int8Array;
  /** Largest |change| per feature (Infinity where none is declared). */
  readonly budget: Float64Array;
  readonly norm: NormId;
  readonly epsilon: number;
  /** Divisor of each feature's change in the overall norm. */
  readonly scale: Float64Array;
}

/** What the constraints are compiled against: the data's feature names and ranges. */
export interface FeatureSpace {
  readonly features: number;
  readonly featureNames?: readonly string[];
  /** Per-feature ranges (CSV data carries them); a feature's declared range overrides it. */
  readonly featureBounds?: readonly Bounds[];
  /** One range for every feature, used where no per-feature range is known. */
  readonly bounds: Bounds;
}

function fail(message: string, details: Record<string, unknown> = {}): never {
  throw new ThreatError('E_TABULAR_CONSTRAINTS', message, { details });
}

/**
 * Parses and compiles tabular constraints against a feature space.
 *
 * @throws ThreatError `E_TABULAR_CONSTRAINTS` for a feature name the data lacks (listing
 *   the valid ones), a one-hot feature in two groups, a declared range outside the data's
 *   feature count, or a schema violation (its message names the field).
 * @example
 * const c = compileConstraints({ immutable: ['mote_id'], budgets: { humidity: 4 }, norm: { kind: 'linf', epsilon: 0.1 } },
 *   { features: 4, featureNames: ['mote_id', 'indoor', 'humidity', 'temperature'], bounds: { min: 0, max: 100 } });
 */
export function compileConstraints(spec: TabularConstraintsSpec, space: FeatureSpace): TabularConstraints {
  let parsed;
  try {
    parsed = parseOptions({ owner: 'tabular constraints', code: 'E_TABULAR_CONSTRAINTS' }, tabularConstraintsSchema, spec);
  } catch (error) {
    fail((error as Error).message, { cause: (error as { details?: unknown }).details });
  }
  const d = space.features;
  const names = space.featureNames ?? Array.from({ length: d }, (_, i) => `f${i}`);
  if (names.length !== d) fail(`The data names ${names.length} features but rows hold ${d}; give one name per feature.`);
  const index = new Map(names.map((n, i) => [n, i]));
  const at = (name: string, field: string): number => {
    const i = index.get(name);
    if (i === undefined) {
      fail(`Constraint '${field}' names feature '${name}', which the data lacks; its features are ${names.join(', ')}.`, {
        field,
        feature: name,
        valid: names,
      });
    }
    return i;
  };
  const lower = new Float64Array(d);
  const upper = new Float64Array(d);
  for (let f = 0; f < d; f++) {
    const b = space.featureBounds?.[f] ?? space.bounds;
    lower[f] = b.min;
    upper[f] = b.max;
  }
  for (const [name, r] of Object.entries(parsed.ranges)) {
    const f = at(name, 'ranges');
    lower[f] = r.min;
    upper[f] = r.max;
  }
  const mutable = new Uint8Array(d).fill(1);
  for (const name of parsed.immutable) mutable[at(name, 'immutable')] = 0;
  const integer = new Uint8Array(d);
  for (const name of parsed.integer) integer[at(name, 'integer')] = 1;
  const seen = new Set<number>();
  const oneHot = parsed.oneHot.map((group) =>
    group.map((name) => {
      const f = at(name, 'oneHot');
      if (seen.has(f)) fail(`Feature '${name}' is in two one-hot groups; a feature belongs to at most one.`, { feature: name });
      seen.add(f);
      // A one-hot member is 0 or 1 whatever the data's range says.
      lower[f] = Math.max(lower[f] as number, 0);
      upper[f] = Math.min(upper[f] as number, 1);
      return f;
    }),
  );
  const direction = new Int8Array(d);
  for (const [name, dir] of Object.entries(parsed.monotone)) direction[at(name, 'monotone')] = dir === 'increase' ? 1 : -1;
  const budget = new Float64Array(d).fill(Infinity);
  for (const [name, b] of Object.entries(parsed.budgets)) budget[at(name, 'budgets')] = b;
  const scale = new Float64Array(d).fill(1);
  const s = parsed.norm.scale;
  if (s === 'range') for (let f = 0; f < d; f++) scale[f] = (upper[f] as number) - (lower[f] as number) || 1;
  else if (typeof s === 'object') for (const [name, v] of Object.entries(s)) scale[at(name, 'norm.scale')] = v;
  return {
    features: d,
    names,
    lower,
    upper,
    mutable,
    integer,
    oneHot,
    direction,
    budget,
    norm: parsed.norm.kind,
    epsilon: parsed.norm.epsilon,
    scale,
  };
}

/**
 * The constraints of a plain threat (no per-feature rules): the norm ball, unscaled, and
 * the threat's bounds on every feature. Tabular attacks run on plain threats through it.
 */
export function plainConstraints(features: number, norm: NormId, epsilon: number, bounds: Bounds): TabularConstraints {
  return compileConstraints({ norm: { kind: norm, epsilon, scale: 'none' } }, { features, bounds });
}

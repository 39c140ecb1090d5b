/**
 * The text catalog: transformation ids and search ids to objects. The CLI, plans, reports
 * and the threat model's families all resolve through here.
 */
import { UsageError, listChoices } from '../../core/errors.js';
import type { TextFamily } from '../../threats/text-threat.js';
import type { TextAttack, TextTransformation } from './types.js';
import { ALL_TRANSFORMATIONS } from './transformations/index.js';
import { greedyWir, type GreedyWirOptions } from './search/greedy-wir.js';
import { beamSearch, type BeamSearchOptions } from './search/beam.js';
import { gradientGuided, type GradientGuidedOptions } from './search/gradient.js';

/** Every transformation, in catalog order (grouped by family). */
export function textTransformations(): readonly TextTransformation[] {
  return ALL_TRANSFORMATIONS;
}

/** Transformation ids, in catalog order. */
export function textTransformationIds(): string[] {
  return ALL_TRANSFORMATIONS.map((t) => t.id);
}

/**
 * One transformation by id.
 *
 * @throws UsageError `E_UNKNOWN_TRANSFORMATION` listing the valid ids.
 * @example getTextTransformation('homoglyph').candidates('free', createRng(1), { limit: 3, maxCharEdits: 1 })
 */
export function getTextTransformation(id: string): TextTransformation {
  const found = ALL_TRANSFORMATIONS.find((t) => t.id === id);
  if (!found) {
    throw new UsageError('E_UNKNOWN_TRANSFORMATION', `Unknown text transformation '${id}'; use ${listChoices(textTransformationIds())}.`, {
      details: { value: id, valid: textTransformationIds() },
    });
  }
  return found;
}

/** The transformations of the given families, in catalog order. */
export function transformationsOf(families: readonly TextFamily[]): TextTransformation[] {
  return ALL_TRANSFORMATIONS.filter((t) => families.includes(t.family));
}

const TEXT_ATTACKS = {
  greedy: {
    factory: (o: Record<string, unknown>) => greedyWir(o as GreedyWirOptions),
    description: 'Greedy word-importance search: leave-one-out ranking, best candidate per word (TextFooler/DeepWordBug).',
  },
  beam: {
    factory: (o: Record<string, unknown>) => beamSearch(o as BeamSearchOptions),
    description: 'Beam search over the leave-one-out word ranking; width 1 equals greedy.',
  },
  gradient: {
    factory: (o: Record<string, unknown>) => gradientGuided(o as GradientGuidedOptions),
    description: 'White-box: words ranked by gradient × feature of the true-class loss, then greedy (HotFlip-style).',
  },
} as const;

export type TextAttackId = keyof typeof TEXT_ATTACKS;

/** The registered text search ids, in catalog order. */
export function textAttackIds(): TextAttackId[] {
  return Object.keys(TEXT_ATTACKS) as TextAttackId[];
}

export function describeTextAttack(id: string): string {
  return (TEXT_ATTACKS as Record<string, { description: string }>)[id]?.description ?? '';
}

/**
 * Creates a text search from its id and options.
 *
 * @throws UsageError `E_UNKNOWN_TEXT_ATTACK` listing the valid ids; `E_TEXT_ATTACK_OPTION` for a bad option.
 * @example const attack = createTextAttack('beam', { beamWidth: 3 });
 */
export function createTextAttack(id: string, options: Record<string, unknown> = {}): TextAttack {
  const entry = (TEXT_ATTACKS as Record<string, { factory: (o: Record<string, unknown>) => TextAttack }>)[id];
  if (!entry) {
    throw new UsageError('E_UNKNOWN_TEXT_ATTACK', `Unknown text attack '${id}'; use ${listChoices(textAttackIds())}.`, {
      details: { value: id, valid: textAttackIds() },
    });
  }
  return entry.factory(options);
}

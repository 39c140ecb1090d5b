/**
 * The text catalog: transformation ids and search ids to objects. The CLI, plans, reports
 * and the threat model's families all resolve through here.
 */
import { UsageError, listChoices } from '../../core/errors.js';
import type { TextFamily, TextTransformation } from './types.js';
import { ALL_TRANSFORMATIONS } from './transformations/index.js';

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

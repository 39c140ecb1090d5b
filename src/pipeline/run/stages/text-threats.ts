/**
 * The plan's text section and threats, as the text stages and the CLI read them: the
 * threat scenario of a plan becomes the text attacks' threat model here, in one place.
 */
import { textThreatModel, type TextThreatModel } from '../../../threats/text-threat.js';
import { TEXT_FAMILIES, type Plan, type TextThreatScenario } from '../../plan/schema.js';

/** Families a text threat covers when the plan lists none: all but WordNet synonyms (slow to load). */
export const DEFAULT_TEXT_FAMILIES = TEXT_FAMILIES.filter((f) => f !== 'synonym');

/** The plan's text section. @throws Error when the plan has none (a stage graph bug). */
export function textSection(plan: Plan): NonNullable<Plan['text']> {
  if (!plan.text) throw new Error("text stages need the plan's text section");
  return plan.text;
}

export function textThreats(plan: Plan): TextThreatScenario[] {
  return plan.threats.filter((t): t is TextThreatScenario => t.channel === 'text');
}

/** The plan's text threat as the text attacks' threat model. */
export function toTextThreat(t: TextThreatScenario): TextThreatModel {
  return textThreatModel({
    id: t.id,
    maxWordFraction: t.budget.maxWordFraction,
    ...(t.budget.maxWords === null ? {} : { maxWords: t.budget.maxWords }),
    maxCharEditsPerWord: t.budget.maxCharEditsPerWord,
    families: t.families ?? DEFAULT_TEXT_FAMILIES,
    ...(t.budget.protectedTokens ? { protectedTokens: t.budget.protectedTokens } : {}),
  });
}

/**
 * Explanations for attacked examples: each clean/adversarial pair explained for the same
 * class (the true label, so the two maps answer the same question: what supported the right
 * answer before, and what is left of that support after the attack), compared, and the set
 * summarised per threat.
 */
import type { Classifier } from '../../models/classifier.js';
import type { TextClassifier } from '../../models/text/text-classifier.js';
import { compareAttributions, compareTextAttributions, type AttributionShift, type TextShift } from './compare.js';
import { explainInput } from './explain.js';
import type { ExplainOptions } from './options.js';
import { summarizeImageShifts, summarizeTextShifts, type ImageShiftSummary, type TextShiftSummary } from './summary.js';
import { leaveOneOut, textGradientTimesInput, type TextExplainOptions } from './text.js';
import type { BudgetCheck } from './types.js';

export interface AttackedExplanations {
  shifts: AttributionShift[];
  summary: ImageShiftSummary;
}

/**
 * Explains `count` clean/adversarial pairs (row-major, the model's input shape each) for their labels.
 *
 * @throws what {@link explainInput} throws; RangeError when `count` is 0.
 * @example const { shifts, summary } = await explainAttacked(model, 'linf-0.1', clean, adv, labels, { method: 'ig', steps: 32 });
 */
export async function explainAttacked(
  model: Classifier,
  threat: string,
  clean: Float32Array,
  adversarial: Float32Array,
  labels: ArrayLike<number>,
  options: Omit<ExplainOptions, 'target'> = {},
  check?: BudgetCheck,
): Promise<AttackedExplanations> {
  const size = model.inputShape.reduce((a, b) => a * b, 1);
  const shifts: AttributionShift[] = [];
  for (let i = 0; i < labels.length; i++) {
    const target = labels[i] as number;
    const before = await explainInput(model, clean.subarray(i * size, (i + 1) * size), { ...options, target }, check);
    const after = await explainInput(model, adversarial.subarray(i * size, (i + 1) * size), { ...options, target }, check);
    shifts.push(compareAttributions(before, after));
  }
  return { shifts, summary: summarizeImageShifts(threat, shifts) };
}

export interface TextAttackedExplanations {
  shifts: TextShift[];
  summary: TextShiftSummary;
}

/**
 * Explains attacked texts: word importance of the original and the adversarial text for the
 * original's label (leave-one-out, or gradient × input on white-box models), compared.
 *
 * @throws what {@link leaveOneOut} / {@link textGradientTimesInput} throw.
 * @example const { summary } = await explainTextAttacked(model, 'spam-evasion', items);
 */
export async function explainTextAttacked(
  model: TextClassifier,
  threat: string,
  items: readonly { original: string; adversarial: string; label: number }[],
  options: Omit<TextExplainOptions, 'target'> & { method?: 'leave-one-out' | 'gradient-x-input' } = {},
  check?: BudgetCheck,
): Promise<TextAttackedExplanations> {
  const explain = options.method === 'gradient-x-input' ? textGradientTimesInput : leaveOneOut;
  const shifts: TextShift[] = [];
  for (const item of items) {
    const o = { ...options, target: item.label };
    const before = await explain(model, item.original, o, check);
    const after = await explain(model, item.adversarial, o, check);
    shifts.push(compareTextAttributions(item.original, item.adversarial, before, after));
  }
  return { shifts, summary: summarizeTextShifts(threat, shifts) };
}

/** Explanations: attribution methods for images, tabular rows and text, clean-vs-adversarial comparison and per-threat summaries. */
export { ATTRIBUTION_METHODS, GRADIENT_METHODS, IG_BASELINES } from './types.js';
export type { Attribution, AttributionMethod, BudgetCheck, IgBaseline, TextAttribution, WordImportance } from './types.js';
export { EXPLAIN_LIMITS, explainOptionsSchema, parseExplainOptions, type ExplainOptions, type ResolvedExplainOptions } from './options.js';
export { explainInput, predictedClass } from './explain.js';
export { gradientAttribution, smoothGrad, integratedGradients } from './gradient.js';
export { occlusion, scoresOf } from './occlusion.js';
export { makeBaseline, blur } from './baseline.js';
export { leaveOneOut, textGradientTimesInput, textTokens, MAX_EXPLAINED_WORDS, type TextExplainOptions } from './text.js';
export {
  compareAttributions,
  compareTextAttributions,
  positionOf,
  type AttributionShift,
  type MovedElement,
  type MovedWord,
  type TextShift,
} from './compare.js';
export { summarizeImageShifts, summarizeTextShifts, type ImageShiftSummary, type TextShiftSummary } from './summary.js';
export { explainAttacked, explainTextAttacked, type AttackedExplanations, type TextAttackedExplanations } from './attacked.js';
export { spearman, pearson, ranks, topIndices } from './stats.js';
export { imageExplanationEvidence, textExplanationEvidence, type ExplanationEvidence } from './evidence.js';

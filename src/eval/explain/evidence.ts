/**
 * Explanations as a vulnerability's evidence: a short statement of where attacks moved the
 * model's attention, with the regions or words they exploited most. Built from the per-threat
 * summaries, so a filed vulnerability says not only that the model broke but what the attack
 * leaned on.
 */
import type { ImageShiftSummary, TextShiftSummary } from './summary.js';

export interface ExplanationEvidence {
  /** How the attributions were computed, e.g. `ig steps=32 baseline=zeros`. */
  method: string;
  /** One sentence on where the attacks moved the model's attention. */
  summary: string;
  /** The regions or words attacks exploited most, with a weight (share of the shift, or a count). */
  top: { feature: string; weight: number }[];
}

/** Evidence from an image (or tabular) summary; `settings` as the examples were explained with. */
export function imageExplanationEvidence(summary: ImageShiftSummary, settings: Record<string, unknown> = {}): ExplanationEvidence {
  const top = summary.regions.slice(0, 5).map((r) => ({
    feature:
      summary.shape.length >= 2 ? `rows ${r.rows[0]}-${r.rows[1]}, cols ${r.cols[0]}-${r.cols[1]}` : `features ${r.cols[0]}-${r.cols[1]}`,
    weight: r.share,
  }));
  const head = top[0];
  const how = Object.entries(settings)
    .filter(([k]) => k !== 'method')
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');
  return {
    method: `${summary.method}${how ? ` ${how}` : ''}`,
    summary: `Over ${summary.examples} attacked examples the attribution for the true label moved most in ${head ? `${head.feature} (${(head.weight * 100).toFixed(0)}% of the shift)` : 'no region'}; clean and adversarial maps keep a mean rank correlation of ${summary.meanRankCorrelation.toFixed(2)}.`,
    top,
  };
}

/** Evidence from a text summary: the words attacks changed most often. */
export function textExplanationEvidence(summary: TextShiftSummary): ExplanationEvidence {
  const top = summary.words.slice(0, 10).map((w) => ({ feature: w.word, weight: w.count }));
  return {
    method: summary.method,
    summary: `Over ${summary.examples} attacked texts the attacks changed most often: ${top.map((t) => `'${t.feature}' (${t.weight})`).join(', ') || 'no words'}.`,
    top,
  };
}

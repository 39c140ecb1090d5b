/**
 * Human-readable views of a defended-stack report: one row per configuration (bare model,
 * each layer alone, all layers) with the adaptive attacker's success, what each layer adds
 * over the bare model, and the clean inputs the layers cost.
 */
import type { DefendedStackReport } from '../eval/adaptive/index.js';
import { formatTable, markdownTable, percent, type Cell } from './table.js';

function rows(report: DefendedStackReport): { headers: string[]; rows: Cell[][] } {
  const headers = ['layers', 'misclassified', 'misclassified and passed', 'robust acc', 'adds (points)', 'clean passed'];
  const bare = report.configs[0]?.robustAccuracy.value ?? 0;
  const out: Cell[][] = report.configs.map((c) => {
    const name = c.layers.length === 0 ? 'bare model' : c.layers.join(' + ');
    // Robust-accuracy points over the bare model (for one layer, the report's `added`).
    const adds = c.layers.length === 0 ? '' : (100 * (c.robustAccuracy.value - bare)).toFixed(1);
    const measured = [c.misclassified, c.attackSuccess, c.robustAccuracy].map((r) => percent(r.value));
    return [name, ...measured, adds, percent(c.cleanPass.value)];
  });
  return { headers, rows: out };
}

/** The report as a terminal table. */
export function defendedStackTable(report: DefendedStackReport): string {
  const { headers, rows: r } = rows(report);
  return formatTable(headers, r);
}

/** The report as Markdown, with a one-line reading of it. */
export function defendedStackMarkdown(report: DefendedStackReport): string {
  const { headers, rows: r } = rows(report);
  const all = report.configs[report.configs.length - 1];
  const lead =
    `Adaptive attack on the model and its detectors together (${report.threat}, ${report.count} inputs): ` +
    `${percent(all?.attackSuccess.value ?? 0)} of the attacked inputs were misclassified and passed every layer.`;
  return [`### Defended stack`, '', lead, '', markdownTable(headers, r)].join('\n');
}

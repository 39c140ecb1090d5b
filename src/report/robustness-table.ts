/** Human-readable views of a robustness report. */
import type { RobustnessReport } from '../eval/robustness.js';
import { rateOf } from '../eval/rate.js';
import { formatTable, markdownTable, percent, type Cell } from './table.js';

/** A robust count's 95% Clopper-Pearson interval, as a table cell. */
export function intervalCell(count: number, n: number): string {
  const r = rateOf(count, n);
  return `${percent(r.lower)}–${percent(r.upper)}`;
}

function rows(report: RobustnessReport): { headers: string[]; rows: Cell[][] } {
  const n = report.data.count;
  const headers = ['attack', 'epsilon', 'robust acc', `95% CI (n=${n})`, 'success rate', 'mean ‖δ‖', 'queries/ex', 'time'];
  const out: Cell[][] = report.results.map((r) => [
    r.attack,
    String(r.epsilon),
    percent(r.robustAccuracy),
    intervalCell(r.attacked - r.succeeded, n),
    percent(r.successRate),
    r.meanPerturbation.toFixed(4),
    r.meanQueries.toFixed(1),
    `${(r.durationMs / 1000).toFixed(1)}s`,
  ]);
  for (const w of report.worstCase)
    out.push(['worst case', String(w.epsilon), percent(w.robustAccuracy), intervalCell(w.robustCount, n), '', '', '', '']);
  return { headers, rows: out };
}

function header(report: RobustnessReport): string {
  return `model ${report.model.id} on ${report.data.name} (${report.data.count} examples, sha256 ${report.data.sha256.slice(0, 12)}), backend ${report.engine.backend}, seed ${report.seed}\nclean accuracy ${percent(report.clean.accuracy)} (${report.clean.correct}/${report.clean.count}), norm ${report.config.norm}`;
}

export function robustnessText(report: RobustnessReport): string {
  const t = rows(report);
  return `${header(report)}\n\n${formatTable(t.headers, t.rows)}`;
}

export function robustnessMarkdown(report: RobustnessReport): string {
  const t = rows(report);
  return `${header(report)}\n\n${markdownTable(t.headers, t.rows)}`;
}

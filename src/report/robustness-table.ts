/** Human-readable views of a robustness report. */
import type { RobustnessReport } from '../eval/robustness.js';
import { formatTable, markdownTable, percent, type Cell } from './table.js';

function rows(report: RobustnessReport): { headers: string[]; rows: Cell[][] } {
  const headers = ['attack', 'epsilon', 'robust acc', 'success rate', 'mean ‖δ‖', 'queries/ex', 'time'];
  const out: Cell[][] = report.results.map((r) => [
    r.attack,
    String(r.epsilon),
    percent(r.robustAccuracy),
    percent(r.successRate),
    r.meanPerturbation.toFixed(4),
    r.meanQueries.toFixed(1),
    `${(r.durationMs / 1000).toFixed(1)}s`,
  ]);
  for (const w of report.worstCase) out.push(['worst case', String(w.epsilon), percent(w.robustAccuracy), '', '', '', '']);
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

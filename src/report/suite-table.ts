/** Human-readable views of a suite report: one row per stage and epsilon, then the total. */
import type { SuiteReport } from '../eval/suite.js';
import { formatTable, markdownTable, percent, type Cell } from './table.js';

function rows(report: SuiteReport): { headers: string[]; rows: Cell[][] } {
  const headers = ['epsilon', 'stage', 'attacked', 'broken', 'robust acc after', 'queries/ex', 'time'];
  const out: Cell[][] = [];
  for (const r of report.results) {
    for (const s of r.stages) {
      out.push([String(r.epsilon), s.stage, String(s.attacked), String(s.broken), percent(s.robustAccuracy), s.meanQueries.toFixed(1), `${(s.durationMs / 1000).toFixed(1)}s`]);
    }
    out.push([String(r.epsilon), `${report.suite.id} v${report.suite.version}`, '', '', percent(r.robustAccuracy), '', '']);
  }
  return { headers, rows: out };
}

function header(report: SuiteReport): string {
  const stages = report.suite.stages.map((s) => s.id).join(' → ');
  return `suite ${report.suite.id} v${report.suite.version} (${report.suite.variant}): ${stages}\nmodel ${report.model.id} on ${report.data.name} (${report.data.count} examples), norm ${report.config.norm}, seed ${report.seed}, clean accuracy ${percent(report.clean.accuracy)}`;
}

/** The suite table for the terminal. */
export function suiteText(report: SuiteReport): string {
  const t = rows(report);
  return `${header(report)}\n\n${formatTable(t.headers, t.rows)}`;
}

/** The suite table as Markdown. */
export function suiteMarkdown(report: SuiteReport): string {
  const t = rows(report);
  return `${header(report)}\n\n${markdownTable(t.headers, t.rows)}`;
}

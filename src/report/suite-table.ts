/** Human-readable views of a suite report: one row per stage and epsilon, then the total. */
import type { SuiteReport } from '../eval/suite.js';
import { intervalCell } from './robustness-table.js';
import { formatTable, markdownTable, percent, type Cell } from './table.js';

function rows(report: SuiteReport): { headers: string[]; rows: Cell[][] } {
  const n = report.data.count;
  const headers = ['epsilon', 'stage', 'attacked', 'broken', 'robust acc after', `95% CI (n=${n})`, 'queries/ex', 'time'];
  const out: Cell[][] = [];
  for (const r of report.results) {
    for (const s of r.stages) {
      // Robust after the stage: what it attacked minus what it broke (at ε = 0 nothing is attacked).
      const standing = s.attacked - s.broken;
      out.push([
        String(r.epsilon),
        s.stage,
        String(s.attacked),
        String(s.broken),
        percent(s.robustAccuracy),
        intervalCell(standing, n),
        s.meanQueries.toFixed(1),
        `${(s.durationMs / 1000).toFixed(1)}s`,
      ]);
    }
    out.push([
      String(r.epsilon),
      `${report.suite.id} v${report.suite.version}`,
      '',
      '',
      percent(r.robustAccuracy),
      intervalCell(r.robustCount, n),
      '',
      '',
    ]);
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

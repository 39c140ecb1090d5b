/** The gate as a Markdown summary for CI comments and job summaries. */
import type { GateCheck, GateResult } from '../eval/gate.js';

/** Escapes text for a Markdown table cell: pipes, backslashes, newlines, and '<' so no HTML gets through. */
export function escapeMarkdownCell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/\r?\n/g, ' ');
}

const pct = (v: number): string => `${(100 * v).toFixed(1)}%`;

/** The measured value, with the rate's 95% interval and n when the check has one. */
function value(check: GateCheck): string {
  const { measured: v, id } = check;
  if (v === null) return '–';
  if (id === 'latency-p99') return `${v.toFixed(2)} ms`;
  if (id === 'ece') return v.toFixed(4);
  if (id.startsWith('masking')) return `${v} failed`;
  const i = check.interval;
  return i ? `${pct(v)} (95% CI ${pct(i.lower)}–${pct(i.upper)}, n=${i.n})` : pct(v);
}

/**
 * @example await writeTextFile('gate.md', gateMarkdown(gate, { name: plan.name, candidate: 'hardened' }));
 */
export function gateMarkdown(gate: GateResult, context: { name: string; candidate?: string }): string {
  const icon = (c: GateCheck): string =>
    c.status === 'passed'
      ? c.warnings && c.warnings.length > 0
        ? '⚠️ pass, warned'
        : '✅ pass'
      : c.status === 'skipped'
        ? '⏭️ skipped'
        : '❌ FAIL';
  const failed = gate.checks.filter((c) => c.status === 'failed');
  const lines = [
    `## Rampart gate: ${escapeMarkdownCell(context.name)} — ${gate.passed ? '✅ PASSED' : '❌ FAILED'}`,
    '',
    `${context.candidate ? `Candidate: \`${escapeMarkdownCell(context.candidate)}\`. ` : ''}${gate.comparedWith ? `Compared with production: \`${escapeMarkdownCell(gate.comparedWith)}\`. ` : 'No production model to compare with. '}${gate.checks.length - failed.length} of ${gate.checks.length} checks passed.`,
    '',
    '| check | criterion | measured | result |',
    '|---|---|---|---|',
    ...gate.checks.map(
      (c) => `| \`${escapeMarkdownCell(c.id)}\` | ${escapeMarkdownCell(c.criterion)} | ${escapeMarkdownCell(value(c))} | ${icon(c)} |`,
    ),
  ];
  if (failed.length > 0)
    lines.push('', '### Failed', '', ...failed.map((c) => `- **${escapeMarkdownCell(c.id)}**: ${escapeMarkdownCell(c.message)}`));
  const warned = gate.checks.filter((c) => c.warnings && c.warnings.length > 0);
  if (warned.length > 0)
    lines.push(
      '',
      '### Warnings',
      '',
      ...warned.flatMap((c) => (c.warnings ?? []).map((w) => `- **${escapeMarkdownCell(c.id)}**: ${escapeMarkdownCell(w)}`)),
    );
  if (gate.checks.some((c) => c.message.includes('weaker evaluation: upper bound'))) {
    lines.push(
      '',
      '_Weaker evaluation: upper bound. The suite was switched off, so every robust accuracy above is an upper bound from weaker attacks._',
    );
  }
  return `${lines.join('\n')}\n`;
}

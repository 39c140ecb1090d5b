/** The gate as a Markdown summary for CI comments and job summaries. */
import type { GateResult } from '../eval/gate.js';

/** Escapes text for a Markdown table cell: pipes, backslashes, newlines, and '<' so no HTML gets through. */
export function escapeMarkdownCell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/\r?\n/g, ' ');
}

function value(v: number | null, id: string): string {
  if (v === null) return '–';
  if (id === 'latency-p99') return `${v.toFixed(2)} ms`;
  if (id === 'ece') return v.toFixed(4);
  return `${(100 * v).toFixed(1)}%`;
}

/**
 * @example await writeTextFile('gate.md', gateMarkdown(gate, { name: plan.name, candidate: 'hardened' }));
 */
export function gateMarkdown(gate: GateResult, context: { name: string; candidate?: string }): string {
  const icon = (status: string): string => (status === 'passed' ? '✅ pass' : status === 'skipped' ? '⏭️ skipped' : '❌ FAIL');
  const failed = gate.checks.filter((c) => c.status === 'failed');
  const lines = [
    `## Rampart gate: ${escapeMarkdownCell(context.name)} — ${gate.passed ? '✅ PASSED' : '❌ FAILED'}`,
    '',
    `${context.candidate ? `Candidate: \`${escapeMarkdownCell(context.candidate)}\`. ` : ''}${gate.comparedWith ? `Compared with production: \`${escapeMarkdownCell(gate.comparedWith)}\`. ` : 'No production model to compare with. '}${gate.checks.length - failed.length} of ${gate.checks.length} checks passed.`,
    '',
    '| check | criterion | measured | result |',
    '|---|---|---|---|',
    ...gate.checks.map((c) => `| \`${escapeMarkdownCell(c.id)}\` | ${escapeMarkdownCell(c.criterion)} | ${value(c.measured, c.id)} | ${icon(c.status)} |`),
  ];
  if (failed.length > 0) lines.push('', '### Failed', '', ...failed.map((c) => `- **${escapeMarkdownCell(c.id)}**: ${escapeMarkdownCell(c.message)}`));
  return `${lines.join('\n')}\n`;
}

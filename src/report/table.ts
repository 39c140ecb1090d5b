/** Plain-text tables for the terminal, and the same rows as Markdown for reports. */

export type Cell = string | number;

function render(cell: Cell): string {
  return typeof cell === 'number' ? (Number.isInteger(cell) ? String(cell) : cell.toFixed(4)) : cell;
}

/** A column-aligned table; numbers right-aligned. */
export function formatTable(headers: string[], rows: Cell[][]): string {
  const text = rows.map((r) => r.map(render));
  const widths = headers.map((h, c) => Math.max(h.length, ...text.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[], numeric: boolean[]) =>
    cells.map((cell, c) => (numeric[c] ? cell.padStart(widths[c] ?? 0) : cell.padEnd(widths[c] ?? 0))).join('  ');
  const numeric = headers.map((_, c) => rows.length > 0 && rows.every((r) => typeof r[c] === 'number'));
  return [line(headers, numeric), widths.map((w) => '-'.repeat(w)).join('  '), ...text.map((r) => line(r, numeric))].join('\n');
}

/** A GitHub-flavoured Markdown table. */
export function markdownTable(headers: string[], rows: Cell[][]): string {
  return [
    `| ${headers.join(' | ')} |`,
    `| ${headers.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(render).join(' | ')} |`),
  ].join('\n');
}

/** `0.9731` -> `97.31%`. */
export function percent(value: number): string {
  return `${(100 * value).toFixed(2)}%`;
}

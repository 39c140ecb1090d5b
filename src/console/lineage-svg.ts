/**
 * A lineage graph as server-rendered SVG: ancestors to the left, the artifact in the
 * middle, descendants to the right, one column per step, edges child → parent. Bounded:
 * at most `perColumn` nodes per column (the rest are counted), so a model with thousands
 * of evaluations still draws a small picture. Every label is escaped.
 */
import type { Lineage } from '../governance/index.js';
import { escapeHtml } from './html.js';

const W = 190;
const H = 34;
const GAP_X = 60;
const GAP_Y = 14;

export function lineageSvg(lineage: Lineage, options: { depth?: number; perColumn?: number } = {}): string {
  const depth = options.depth ?? 3;
  const perColumn = options.perColumn ?? 12;
  const columns = new Map<number, Array<{ digest: string; kind: string; name: string }>>();
  const hidden = new Map<number, number>();
  const seen = new Set<string>();
  const add = (col: number, node: { digest: string; kind: string; name: string }): void => {
    // A node reached by two paths (a plan is the parent of the data and of the model) is drawn once, nearest.
    if (seen.has(node.digest)) return;
    seen.add(node.digest);
    const list = columns.get(col) ?? [];
    if (list.length >= perColumn) hidden.set(col, (hidden.get(col) ?? 0) + 1);
    else list.push(node);
    columns.set(col, list);
  };
  add(0, { digest: lineage.artifact.digest, kind: lineage.artifact.kind, name: lineage.artifact.name });
  const byDepth = (a: { depth: number }, b: { depth: number }): number => a.depth - b.depth;
  for (const n of [...lineage.ancestors].sort(byDepth)) if (n.depth <= depth) add(-n.depth, n);
  for (const n of [...lineage.descendants].sort(byDepth)) if (n.depth <= depth) add(n.depth, n);
  const cols = [...columns.keys()].sort((a, b) => a - b);
  const rows = Math.max(...[...columns.values()].map((l) => l.length)) + (hidden.size > 0 ? 1 : 0);
  const pos = new Map<string, { x: number; y: number }>();
  cols.forEach((c, i) => (columns.get(c) ?? []).forEach((n, j) => pos.set(n.digest, { x: 10 + i * (W + GAP_X), y: 10 + j * (H + GAP_Y) })));
  const width = 20 + cols.length * (W + GAP_X) - GAP_X;
  const height = 20 + rows * (H + GAP_Y);
  const parts: string[] = [];
  for (const e of lineage.edges) {
    const a = pos.get(e.parent);
    const b = pos.get(e.child);
    if (a && b) parts.push(`<line x1="${a.x + W}" y1="${a.y + H / 2}" x2="${b.x}" y2="${b.y + H / 2}"/>`);
  }
  cols.forEach((c, i) => {
    for (const n of columns.get(c) ?? []) {
      const p = pos.get(n.digest) as { x: number; y: number };
      const focus = n.digest === lineage.artifact.digest ? ' class="focus"' : '';
      const label = n.name.length > 26 ? `${n.name.slice(0, 25)}…` : n.name;
      const href = n.kind === 'model' ? `/models/${n.digest}` : n.kind === 'evaluation' ? `/runs/${n.digest}` : undefined;
      const text = `<text x="${p.x + 6}" y="${p.y + 14}">${escapeHtml(n.kind)}</text><text x="${p.x + 6}" y="${p.y + 28}">${escapeHtml(label)}</text>`;
      const box = `<rect${focus} x="${p.x}" y="${p.y}" width="${W}" height="${H}" rx="4"/>${text}`;
      parts.push(href ? `<a href="${href}"><title>${escapeHtml(`${n.kind} ${n.name}`)}</title>${box}</a>` : box);
    }
    const more = hidden.get(c);
    if (more) parts.push(`<text x="${10 + i * (W + GAP_X)}" y="${height - 8}">+${more} more</text>`);
  });
  return `<svg class="lineage" role="img" aria-label="Lineage of ${escapeHtml(lineage.artifact.name)}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${parts.join('')}</svg>`;
}

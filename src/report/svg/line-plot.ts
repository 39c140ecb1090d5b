/**
 * A line plot as an inline SVG string: several series over a shared numeric x axis,
 * y typically a fraction shown as percent (accuracy against epsilon).
 */
import { escapeHtml as esc, fixed } from './escape.js';

export interface LineSeries {
  name: string;
  points: { x: number; y: number }[];
  color?: string;
  dashed?: boolean;
}

export interface LinePlotOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: LineSeries[];
  /** Default [0, 1]. */
  yDomain?: [number, number];
  /** Format y tick labels; default percent. */
  yFormat?: (y: number) => string;
  /** Horizontal reference lines, e.g. a gate's required accuracy. */
  references?: { y: number; label: string; color?: string }[];
  width?: number;
  height?: number;
}

const PALETTE = ['#c0392b', '#1f6fb2', '#2e8b57', '#8e44ad', '#d68910', '#555555'];

/** Evenly spaced "nice" ticks covering [min, max]. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? raw;
  const ticks: number[] = [];
  // Integer multiples, rounded to 12 significant digits, so labels read 0.6 and not 0.6000000000000001.
  for (let i = Math.ceil(min / step - 1e-9); i <= Math.floor(max / step + 1e-9); i++) ticks.push(Number((i * step).toPrecision(12)) + 0);
  return ticks;
}

/**
 * @example const svg = linePlot({ title: 'Accuracy vs ε', xLabel: 'ε', yLabel: 'accuracy', series: [{ name: 'hardened', points }] });
 */
export function linePlot(options: LinePlotOptions): string {
  const width = options.width ?? 520;
  const height = options.height ?? 320;
  const m = { left: 56, right: 16, top: 34, bottom: 64 };
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  const xs = options.series.flatMap((s) => s.points.map((p) => p.x));
  const xMin = xs.length > 0 ? Math.min(...xs) : 0;
  const xMax = xs.length > 0 ? Math.max(...xs) : 1;
  const [yMin, yMax] = options.yDomain ?? [0, 1];
  const sx = (x: number): number => m.left + (xMax === xMin ? plotW / 2 : ((x - xMin) / (xMax - xMin)) * plotW);
  const sy = (y: number): number => m.top + plotH - ((Math.min(yMax, Math.max(yMin, y)) - yMin) / (yMax - yMin)) * plotH;
  const yFormat = options.yFormat ?? ((y: number) => `${fixed(y * 100, 0)}%`);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${esc(options.title)}" font-family="system-ui, sans-serif" font-size="11">`,
    `<title>${esc(options.title)}</title>`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="18" text-anchor="middle" font-size="13" font-weight="600">${esc(options.title)}</text>`,
  ];
  for (const t of niceTicks(yMin, yMax)) {
    parts.push(`<line x1="${m.left}" x2="${m.left + plotW}" y1="${fixed(sy(t))}" y2="${fixed(sy(t))}" stroke="#e3e3e3"/>`);
    parts.push(`<text x="${m.left - 6}" y="${fixed(sy(t) + 4)}" text-anchor="end" fill="#444">${esc(yFormat(t))}</text>`);
  }
  for (const t of niceTicks(xMin, xMax)) {
    parts.push(`<line x1="${fixed(sx(t))}" x2="${fixed(sx(t))}" y1="${m.top + plotH}" y2="${m.top + plotH + 4}" stroke="#444"/>`);
    parts.push(
      `<text x="${fixed(sx(t))}" y="${m.top + plotH + 16}" text-anchor="middle" fill="#444">${esc(String(Math.round(t * 1000) / 1000))}</text>`,
    );
  }
  parts.push(`<rect x="${m.left}" y="${m.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#888"/>`);
  parts.push(`<text x="${m.left + plotW / 2}" y="${m.top + plotH + 32}" text-anchor="middle">${esc(options.xLabel)}</text>`);
  parts.push(`<text transform="translate(14 ${m.top + plotH / 2}) rotate(-90)" text-anchor="middle">${esc(options.yLabel)}</text>`);
  for (const ref of options.references ?? []) {
    const color = ref.color ?? '#999';
    parts.push(
      `<line x1="${m.left}" x2="${m.left + plotW}" y1="${fixed(sy(ref.y))}" y2="${fixed(sy(ref.y))}" stroke="${color}" stroke-dasharray="2 3"/>`,
    );
    parts.push(
      `<text x="${m.left + plotW - 4}" y="${fixed(sy(ref.y) - 3)}" text-anchor="end" fill="${color}" font-size="10">${esc(ref.label)}</text>`,
    );
  }
  options.series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length];
    const points = [...s.points].sort((a, b) => a.x - b.x);
    if (points.length > 1) {
      parts.push(
        `<polyline fill="none" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''} points="${points.map((p) => `${fixed(sx(p.x))},${fixed(sy(p.y))}`).join(' ')}"/>`,
      );
    }
    for (const p of points)
      parts.push(
        `<circle cx="${fixed(sx(p.x))}" cy="${fixed(sy(p.y))}" r="3" fill="${color}"><title>${esc(`${s.name}: x=${p.x}, ${yFormat(p.y)}`)}</title></circle>`,
      );
  });
  // Legend below the axis label, one entry per series.
  let lx = m.left;
  const ly = height - 12;
  options.series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length];
    parts.push(
      `<line x1="${lx}" x2="${lx + 18}" y1="${ly - 4}" y2="${ly - 4}" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
    );
    parts.push(`<text x="${lx + 22}" y="${ly}">${esc(s.name)}</text>`);
    lx += 30 + 7 * s.name.length;
  });
  parts.push('</svg>');
  return parts.join('');
}

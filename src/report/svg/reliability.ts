/**
 * A reliability diagram as an inline SVG string: per confidence bin, the accuracy as a
 * bar against the diagonal of perfect calibration, the bin's mean confidence as a red
 * tick (over-confidence shaded), and the bin's share of examples as a histogram underneath.
 */
import { escapeHtml as esc, fixed } from './escape.js';

export interface ReliabilityBinData {
  lower: number;
  upper: number;
  count: number;
  /** Mean confidence of the examples in the bin. */
  confidence: number;
  accuracy: number;
}

export interface ReliabilityOptions {
  title: string;
  bins: ReliabilityBinData[];
  /** Expected calibration error, shown in the corner when given. */
  ece?: number;
  width?: number;
  height?: number;
}

/** @example const svg = reliabilityDiagram({ title: 'hardened', bins, ece: 0.03 }); */
export function reliabilityDiagram(options: ReliabilityOptions): string {
  const width = options.width ?? 320;
  const height = options.height ?? 340;
  // The top margin holds the ECE and the legend, outside the plot: inside, tall bars hid them.
  const m = { left: 48, right: 12, top: 44, bottom: 40 };
  const histH = 44;
  const size = Math.min(width - m.left - m.right, height - m.top - m.bottom - histH - 8);
  const sx = (v: number): number => m.left + v * size;
  const sy = (v: number): number => m.top + size - v * size;
  const total = options.bins.reduce((a, b) => a + b.count, 0);
  const maxShare = Math.max(1e-9, ...options.bins.map((b) => b.count / Math.max(1, total)));
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${esc(options.title)}" font-family="system-ui, sans-serif" font-size="11">`,
    `<title>${esc(options.title)}</title>`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="18" text-anchor="middle" font-size="13" font-weight="600">${esc(options.title)}</text>`,
  ];
  for (const t of [0, 0.25, 0.5, 0.75, 1]) {
    parts.push(`<line x1="${m.left}" x2="${m.left + size}" y1="${fixed(sy(t))}" y2="${fixed(sy(t))}" stroke="#eee"/>`);
    parts.push(`<text x="${m.left - 5}" y="${fixed(sy(t) + 4)}" text-anchor="end" fill="#444">${t}</text>`);
    parts.push(`<text x="${fixed(sx(t))}" y="${m.top + size + histH + 22}" text-anchor="middle" fill="#444">${t}</text>`);
  }
  for (const bin of options.bins) {
    if (bin.count === 0) continue;
    const x = sx(bin.lower);
    const w = Math.max(1, sx(bin.upper) - sx(bin.lower) - 1);
    parts.push(
      `<rect x="${fixed(x)}" y="${fixed(sy(bin.accuracy))}" width="${fixed(w)}" height="${fixed(size * bin.accuracy)}" fill="#1f6fb2" fill-opacity="0.8"><title>${esc(`confidence ${bin.lower.toFixed(2)}–${bin.upper.toFixed(2)}: accuracy ${(bin.accuracy * 100).toFixed(1)}%, mean confidence ${(bin.confidence * 100).toFixed(1)}%, ${bin.count} examples`)}</title></rect>`,
    );
    // Over-confidence (confidence above accuracy) is shaded above the bar; the bin's mean confidence is a red tick.
    if (bin.confidence > bin.accuracy)
      parts.push(
        `<rect x="${fixed(x)}" y="${fixed(sy(bin.confidence))}" width="${fixed(w)}" height="${fixed(size * (bin.confidence - bin.accuracy))}" fill="#c0392b" fill-opacity="0.3"/>`,
      );
    parts.push(
      `<line x1="${fixed(x)}" x2="${fixed(x + w)}" y1="${fixed(sy(bin.confidence))}" y2="${fixed(sy(bin.confidence))}" stroke="#c0392b" stroke-width="2"/>`,
    );
    const h = (histH - 6) * (bin.count / Math.max(1, total) / maxShare);
    parts.push(`<rect x="${fixed(x)}" y="${fixed(m.top + size + histH - h)}" width="${fixed(w)}" height="${fixed(h)}" fill="#777"/>`);
  }
  parts.push(`<line x1="${sx(0)}" y1="${sy(0)}" x2="${sx(1)}" y2="${sy(1)}" stroke="#333" stroke-dasharray="4 3"/>`);
  parts.push(`<rect x="${m.left}" y="${m.top}" width="${size}" height="${size}" fill="none" stroke="#888"/>`);
  parts.push(`<text x="${m.left + size / 2}" y="${height - 4}" text-anchor="middle">confidence</text>`);
  parts.push(`<text transform="translate(12 ${m.top + size / 2}) rotate(-90)" text-anchor="middle">accuracy</text>`);
  const ece = options.ece === undefined ? '' : `<tspan fill="#222" font-weight="600">ECE ${esc(options.ece.toFixed(4))}</tspan> · `;
  parts.push(`<text x="${m.left}" y="${m.top - 8}" font-size="10" fill="#555">${ece}bars: accuracy · red: mean confidence</text>`);
  parts.push('</svg>');
  return parts.join('');
}

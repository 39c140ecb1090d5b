/**
 * What attacks exploit across an evaluation set, per threat: for images the mean |Δ
 * attribution| per element (a heatmap of where attacks moved the model's attention) and the
 * regions of the image where it concentrates; for text, how often each word was among the
 * words attacks changed, with its mean importance before the attack.
 */
import { positionOf, type AttributionShift, type TextShift } from './compare.js';
import { round4, topIndices } from './stats.js';

export interface ImageShiftSummary {
  threat: string;
  method: string;
  examples: number;
  shape: number[];
  /** Mean |adversarial − clean| attribution per element. */
  meanAbsDelta: number[];
  /** Mean Spearman correlation of |clean| and |adversarial| maps. */
  meanRankCorrelation: number;
  /** Cells of a coarse grid (a quarter of the side each way) by their share of the total |Δ|, largest first. */
  regions: { row: number; col: number; rows: [number, number]; cols: [number, number]; share: number }[];
}

/**
 * Summarises image (or tabular) shifts of one threat.
 *
 * @throws RangeError when the shifts differ in shape or there are none.
 * @example const summary = summarizeImageShifts('linf-0.1', shifts);
 */
export function summarizeImageShifts(threat: string, shifts: readonly AttributionShift[]): ImageShiftSummary {
  const first = shifts[0];
  if (!first) throw new RangeError('summarizeImageShifts: no shifts; explain at least one example.');
  const size = first.delta.length;
  const mean = new Float64Array(size);
  let corr = 0;
  for (const s of shifts) {
    if (s.delta.length !== size)
      throw new RangeError('summarizeImageShifts: shifts of different shapes; summarise one model and threat at a time.');
    for (let j = 0; j < size; j++) mean[j] = (mean[j] as number) + Math.abs(s.delta[j] as number) / shifts.length;
    corr += s.rankCorrelation / shifts.length;
  }
  const shape = first.shape;
  const [h, w] = shape.length >= 2 ? [shape[0] as number, shape[1] as number] : [1, size];
  const cellH = Math.max(1, Math.ceil(h / 4));
  const cellW = Math.max(1, Math.ceil(w / 4));
  const gridW = Math.ceil(w / cellW);
  const cells = new Float64Array(Math.ceil(h / cellH) * gridW);
  let total = 0;
  for (let j = 0; j < size; j++) {
    const [r = 0, c = 0] = shape.length >= 2 ? positionOf(j, shape) : [0, j];
    const k = Math.floor(r / cellH) * gridW + Math.floor(c / cellW);
    cells[k] = (cells[k] as number) + (mean[j] as number);
    total += mean[j] as number;
  }
  const regions = topIndices(cells, cells.length).map((k) => {
    const row = Math.floor(k / gridW);
    const col = k % gridW;
    return {
      row,
      col,
      rows: [row * cellH, Math.min(h, (row + 1) * cellH) - 1] as [number, number],
      cols: [col * cellW, Math.min(w, (col + 1) * cellW) - 1] as [number, number],
      share: total === 0 ? 0 : Math.round(((cells[k] as number) / total) * 1e4) / 1e4,
    };
  });
  return {
    threat,
    method: first.method,
    examples: shifts.length,
    shape: [...shape],
    meanAbsDelta: round4(mean),
    meanRankCorrelation: Math.round(corr * 1e4) / 1e4,
    regions,
  };
}

export interface TextShiftSummary {
  threat: string;
  method: string;
  examples: number;
  /** Original words attacks changed, most often first: in how many examples, and their mean importance before. */
  words: { word: string; count: number; meanImportance: number }[];
}

/**
 * Summarises text shifts of one threat: which words attacks change most often.
 *
 * @example const summary = summarizeTextShifts('spam-evasion', shifts, 20);
 */
export function summarizeTextShifts(threat: string, shifts: readonly TextShift[], top = 20): TextShiftSummary {
  const stats = new Map<string, { count: number; importance: number }>();
  for (const s of shifts) {
    const seen = new Set<string>();
    for (const m of s.moved) {
      const word = m.before.toLowerCase();
      if (word === '' || seen.has(word)) continue;
      seen.add(word);
      const e = stats.get(word) ?? { count: 0, importance: 0 };
      e.count++;
      e.importance += m.importanceBefore;
      stats.set(word, e);
    }
  }
  const words = [...stats]
    .map(([word, e]) => ({ word, count: e.count, meanImportance: Math.round((e.importance / e.count) * 1e4) / 1e4 }))
    .sort((a, b) => b.count - a.count || b.meanImportance - a.meanImportance || a.word.localeCompare(b.word))
    .slice(0, top);
  return { threat, method: shifts[0]?.method ?? 'leave-one-out', examples: shifts.length, words };
}

/**
 * Clean versus adversarial: what the attack changed in the model's reasoning. For inputs of
 * fixed shape, the attributions before and after, their difference, the elements whose
 * attribution moved most, and how similar the two maps still are (rank correlation of |a|).
 * For text, the words the attack changed with how much each mattered before, and the
 * importance of what replaced them.
 */
import { round4, spearman, absolute, topIndices } from './stats.js';
import { textTokens } from './text.js';
import type { Attribution, TextAttribution } from './types.js';

export interface MovedElement {
  /** Flat index into the input. */
  index: number;
  /** Position in the input's shape, e.g. `[row, col, channel]`. */
  position: number[];
  before: number;
  after: number;
  delta: number;
}

export interface AttributionShift {
  method: string;
  target: number;
  shape: number[];
  clean: number[];
  adversarial: number[];
  /** adversarial − clean, per element. */
  delta: number[];
  /** The elements whose attribution moved most (largest |delta|). */
  moved: MovedElement[];
  /** Spearman correlation of |clean| and |adversarial|: near 1, the model still looks at the same places. */
  rankCorrelation: number;
}

/** A flat index as its position in `shape`. */
export function positionOf(index: number, shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length).fill(0);
  let rest = index;
  for (let d = shape.length - 1; d >= 0; d--) {
    const n = shape[d] as number;
    out[d] = rest % n;
    rest = Math.floor(rest / n);
  }
  return out;
}

/**
 * Compares two attributions of the same class on the clean and the adversarial input.
 *
 * @throws RangeError when the two attributions do not have the same length.
 * @example const shift = compareAttributions(await explainInput(m, x, o), await explainInput(m, xAdv, o));
 */
export function compareAttributions(clean: Attribution, adversarial: Attribution, top = 10): AttributionShift {
  if (clean.values.length !== adversarial.values.length)
    throw new RangeError(
      `compareAttributions: ${clean.values.length} vs ${adversarial.values.length} values; explain inputs of one shape.`,
    );
  const delta = Float32Array.from(adversarial.values, (v, j) => v - (clean.values[j] as number));
  const moved = topIndices(absolute(delta), top).map((index) => ({
    index,
    position: positionOf(index, clean.shape),
    before: Math.round((clean.values[index] as number) * 1e4) / 1e4,
    after: Math.round((adversarial.values[index] as number) * 1e4) / 1e4,
    delta: Math.round((delta[index] as number) * 1e4) / 1e4,
  }));
  return {
    method: clean.method,
    target: clean.target,
    shape: [...clean.shape],
    clean: round4(clean.values),
    adversarial: round4(adversarial.values),
    delta: round4(delta),
    moved,
    rankCorrelation: Math.round(spearman(absolute(clean.values), absolute(adversarial.values)) * 1e4) / 1e4,
  };
}

export interface MovedWord {
  /** The original word (lower-cased for counting); '' for a pure insertion. */
  before: string;
  /** What the attack put in its place; '' for a deletion. */
  after: string;
  /** The original word's importance on the clean text (0 for insertions). */
  importanceBefore: number;
  /** The replacement's importance on the adversarial text (0 for deletions). */
  importanceAfter: number;
}

export interface TextShift {
  method: string;
  target: number;
  probabilityBefore: number;
  probabilityAfter: number;
  /** The clean text's most important words (support for the explained class). */
  topBefore: { word: string; importance: number }[];
  moved: MovedWord[];
}

/** Word alignment by longest common subsequence: pairs of (clean index | -1, adversarial index | -1) for words that differ. */
function changedWords(a: readonly string[], b: readonly string[]): [number, number][] {
  const n = a.length;
  const m = b.length;
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      (lcs[i] as Uint32Array)[j] =
        a[i] === b[j]
          ? ((lcs[i + 1] as Uint32Array)[j + 1] as number) + 1
          : Math.max((lcs[i + 1] as Uint32Array)[j] as number, (lcs[i] as Uint32Array)[j + 1] as number);
  const dels: number[] = [];
  const ins: number[] = [];
  const pairs: [number, number][] = [];
  const flush = (): void => {
    // A run of deletions next to a run of insertions is a run of substitutions.
    for (let k = 0; k < Math.max(dels.length, ins.length); k++) pairs.push([dels[k] ?? -1, ins[k] ?? -1]);
    dels.length = 0;
    ins.length = 0;
  };
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      flush();
      i++;
      j++;
    } else if (j >= m || (i < n && ((lcs[i + 1] as Uint32Array)[j] as number) >= ((lcs[i] as Uint32Array)[j + 1] as number)))
      dels.push(i++);
    else ins.push(j++);
  }
  flush();
  return pairs;
}

/**
 * Compares word importances of the clean and the adversarial text (same class, same method).
 *
 * @example const shift = compareTextAttributions(text, advText, await leaveOneOut(m, text), await leaveOneOut(m, advText, { target }));
 */
export function compareTextAttributions(
  cleanText: string,
  adversarialText: string,
  clean: TextAttribution,
  adversarial: TextAttribution,
  top = 5,
): TextShift {
  const a = textTokens(cleanText);
  const b = textTokens(adversarialText);
  const wa = a.words.map((t) => a.tokens[t] as string);
  const wb = b.words.map((t) => b.tokens[t] as string);
  const r = (v: number): number => Math.round(v * 1e4) / 1e4;
  const moved = changedWords(wa, wb).map(([i, j]) => ({
    before: i < 0 ? '' : (wa[i] as string),
    after: j < 0 ? '' : (wb[j] as string),
    importanceBefore: i < 0 ? 0 : r(clean.words[i]?.importance ?? 0),
    importanceAfter: j < 0 ? 0 : r(adversarial.words[j]?.importance ?? 0),
  }));
  return {
    method: clean.method,
    target: clean.target,
    probabilityBefore: r(clean.probability),
    probabilityAfter: r(adversarial.probability),
    topBefore: [...clean.words]
      .sort((x, y) => y.importance - x.importance)
      .slice(0, top)
      .map((w) => ({ word: w.word, importance: r(w.importance) })),
    moved,
  };
}

/**
 * The sketches the query-pattern layer compares. Images are average-pooled to at most 7
 * cells per spatial axis (the pooling also averages attack noise away, so perturbed copies
 * of one image collapse onto one sketch); texts become the bottom-k hashes of their
 * lowercase word set (Broder's bottom-k MinHash), so comparing two texts costs at most
 * 2k steps however long they are, and is exact for texts of up to k distinct words.
 */
import type { Bounds } from '../../core/types.js';
import { sizeOf } from '../../core/types.js';

/** Distinct word hashes a text sketch keeps. */
export const TEXT_SKETCH_WORDS = 64;

/** Contiguous groups of cells whose means form an image sketch's coarse summary. */
export const COARSE_GROUPS = 8;

export interface ImageSketch {
  readonly kind: 'image';
  readonly cells: Float32Array;
  /**
   * Means of `COARSE_GROUPS` contiguous runs of cells, each times √(run length). For any
   * partition, Σ size·(Δ group mean)² ≤ Σ Δcell² (Jensen), so the squared distance of these
   * is a lower bound of the cells' and rules most pairs out in a few steps.
   */
  readonly coarse: Float32Array;
}

export interface TextSketch {
  readonly kind: 'text';
  /** The smallest hashes of the distinct words, ascending. */
  readonly hashes: Uint32Array;
  /** Distinct words in the text (may exceed `hashes.length`). */
  readonly words: number;
}

export type Sketch = ImageSketch | TextSketch;

/** Bytes a sketch holds, for the layer's memory accounting (typed array plus object overhead). */
export function sketchBytes(sketch: Sketch): number {
  return 64 + (sketch.kind === 'image' ? sketch.cells.byteLength + sketch.coarse.byteLength + 64 : sketch.hashes.byteLength);
}

/**
 * How an h×w×c image pools into cells: the cell row of each image row, and where each cell
 * column's run of pixels starts (a run's values, channels included, are contiguous).
 */
interface PoolPlan {
  readonly rowOf: Int32Array;
  readonly colStart: Int32Array;
  readonly counts: Float64Array;
}

const SUMS = new Float64Array(49);

// One plan per image shape (shapes come from served models, not from clients: a handful).
const plans = new Map<string, PoolPlan>();

// The last plan asked for: one served model asks for one shape on every request (no key string to build).
let last: { h: number; w: number; c: number; plan: PoolPlan } | undefined;

function poolPlan(h: number, w: number, c: number): PoolPlan {
  if (last && last.h === h && last.w === w && last.c === c) return last.plan;
  const key = `${h}x${w}x${c}`;
  let plan = plans.get(key);
  if (plan) {
    last = { h, w, c, plan };
    return plan;
  }
  const bh = Math.min(h, 7);
  const bw = Math.min(w, 7);
  const rowOf = Int32Array.from({ length: h }, (_, i) => Math.floor((i * bh) / h));
  // The first column j with floor(j·bw/w) = cell, for each cell; then w.
  const colStart = new Int32Array(bw + 1).fill(w);
  for (let j = w - 1; j >= 0; j--) colStart[Math.floor((j * bw) / w)] = j;
  const counts = new Float64Array(bh * bw);
  for (let i = 0; i < h; i++) {
    for (let cell = 0; cell < bw; cell++) {
      const at = (rowOf[i] as number) * bw + cell;
      counts[at] = (counts[at] as number) + ((colStart[cell + 1] as number) - (colStart[cell] as number)) * c;
    }
  }
  plan = { rowOf, colStart, counts };
  if (plans.size >= 16) plans.clear();
  plans.set(key, plan);
  last = { h, w, c, plan };
  return plan;
}

/**
 * Average-pools an example to at most 7 cells per spatial axis (channels averaged), scaled
 * to [0, 1] by the bounds. Non-image shapes are cut into at most 64 equal segments.
 * `spare` zeroed floats follow the cells in the same buffer (the coarse summary's place:
 * one backing store per sketch instead of two).
 */
export function imageSketch(x: Float32Array, offset: number, shape: readonly number[], bounds: Bounds, spare = 0): Float32Array {
  const range = bounds.max - bounds.min || 1;
  if (shape.length === 3 || shape.length === 2) {
    const [h, w] = shape as [number, number];
    const c = shape.length === 3 ? (shape[2] as number) : 1;
    const { rowOf, colStart, counts } = poolPlan(h, w, c);
    const bw = colStart.length - 1;
    // A shared scratch (at most 7×7 cells; the sketch is synchronous), so a request allocates only its sketch.
    const sums = SUMS.fill(0, 0, counts.length);
    // The runs tile each row and the rows follow each other, so one cursor walks the example once;
    // two partial sums per run keep the adds from waiting on each other.
    let p = offset;
    for (let i = 0; i < h; i++) {
      const rowBase = offset + i * w * c;
      const cellBase = (rowOf[i] as number) * bw;
      for (let cell = 0; cell < bw; cell++) {
        let s0 = 0;
        let s1 = 0;
        const end = rowBase + (colStart[cell + 1] as number) * c;
        for (; p + 1 < end; p += 2) {
          s0 += x[p] as number;
          s1 += x[p + 1] as number;
        }
        if (p < end) s0 += x[p++] as number;
        sums[cellBase + cell] = (sums[cellBase + cell] as number) + s0 + s1;
      }
    }
    // Pooling is linear: the mean of (v − min)/range is (mean v − min)/range.
    const n = counts.length;
    const out = new Float32Array(n + spare);
    for (let i = 0; i < n; i++) out[i] = ((sums[i] as number) / (counts[i] as number) - bounds.min) / range;
    return spare > 0 ? out.subarray(0, n) : out;
  }
  const size = sizeOf(shape);
  const bins = Math.min(size, 64);
  const out = new Float32Array(bins + spare);
  for (let i = 0; i < size; i++) {
    const b = Math.floor((i * bins) / size);
    out[b] = (out[b] as number) + ((x[offset + i] as number) - bounds.min) / range;
  }
  for (let b = 0; b < bins; b++) {
    const width = Math.floor(((b + 1) * size) / bins) - Math.floor((b * size) / bins);
    out[b] = (out[b] as number) / Math.max(1, width);
  }
  return spare > 0 ? out.subarray(0, bins) : out;
}

const groupStart = (g: number, cells: number): number => Math.floor((g * cells) / COARSE_GROUPS);

/** The image sketch with its coarse summary, as the layer stores it. */
export function sketchImage(x: Float32Array, offset: number, shape: readonly number[], bounds: Bounds): ImageSketch {
  const cells = imageSketch(x, offset, shape, bounds, COARSE_GROUPS);
  const coarse = new Float32Array(cells.buffer, cells.byteOffset + cells.byteLength, COARSE_GROUPS);
  for (let g = 0; g < COARSE_GROUPS; g++) {
    const from = groupStart(g, cells.length);
    const to = groupStart(g + 1, cells.length);
    let sum = 0;
    for (let i = from; i < to; i++) sum += cells[i] as number;
    coarse[g] = to > from ? sum / Math.sqrt(to - from) : 0;
  }
  return { kind: 'image', cells, coarse };
}

/** Lowercase word set of a text, the sketch near-duplicate texts share. */
export function textSketch(text: string): Set<string> {
  return new Set(
    text
      .toLowerCase()
      .normalize('NFKC')
      .split(/[^\p{L}\p{N}]+/u)
      .filter((w) => w.length > 0),
  );
}

/** FNV-1a over the UTF-16 code units: fast, stable across runs, and good enough to spread words. */
function fnv1a(word: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < word.length; i++) {
    h ^= word.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The bottom-k sketch of a text's word set. */
export function sketchText(text: string, k = TEXT_SKETCH_WORDS): TextSketch {
  const words = textSketch(text);
  const all = new Uint32Array(words.size);
  let i = 0;
  for (const w of words) all[i++] = fnv1a(w);
  all.sort();
  // Distinct words can collide on a hash; drop repeats so the sketch stays a set.
  let n = 0;
  for (let j = 0; j < all.length; j++) if (n === 0 || all[j] !== all[n - 1]) all[n++] = all[j] as number;
  return { kind: 'text', hashes: all.slice(0, Math.min(n, k)), words: n };
}

/** RMS distance of two image sketches, stopping early once it must exceed `limit`. */
export function imageDistanceWithin(a: ImageSketch, b: ImageSketch, limit: number): boolean {
  const n = a.cells.length;
  if (n !== b.cells.length) return false;
  const budget = limit * limit * n;
  let sum = 0;
  for (let g = 0; g < COARSE_GROUPS; g++) {
    const d = (a.coarse[g] as number) - (b.coarse[g] as number);
    sum += d * d;
    if (sum > budget) return false;
  }
  sum = 0;
  for (let i = 0; i < a.cells.length; i++) {
    const d = (a.cells[i] as number) - (b.cells[i] as number);
    sum += d * d;
    if (sum > budget) return false;
  }
  return true;
}

/**
 * Jaccard similarity of two bottom-k sketches: among the k smallest hashes of the union,
 * the fraction present in both. Exact when both texts have at most k distinct words.
 */
export function textSimilarity(a: TextSketch, b: TextSketch, k = TEXT_SKETCH_WORDS): number {
  if (a.words === 0 && b.words === 0) return 1;
  let i = 0;
  let j = 0;
  let taken = 0;
  let shared = 0;
  while (taken < k && (i < a.hashes.length || j < b.hashes.length)) {
    const x = i < a.hashes.length ? (a.hashes[i] as number) : Infinity;
    const y = j < b.hashes.length ? (b.hashes[j] as number) : Infinity;
    if (x === y) {
      shared++;
      i++;
      j++;
    } else if (x < y) i++;
    else j++;
    taken++;
  }
  return taken === 0 ? 0 : shared / taken;
}

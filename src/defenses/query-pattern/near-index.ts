/**
 * An exact index of one client's sketches for the near-duplicate count, so a new example
 * is compared with the few stored sketches that can be within the distance instead of all
 * of them (thousands per client).
 *
 * Images: the coarse summary (`COARSE_GROUPS` values, see sketch.ts) is an orthonormal
 * projection of the cells, so its distance is a lower bound of the cells' distance. Each
 * sketch goes into the bucket of its coarse vector's grid cell, the grid's side a little
 * more than twice the radius r (r² = distance² · cells). A query visits only the cells
 * that the ball of radius r around its coarse vector touches: its own cell, and a
 * neighbour along a set of axes only when the summed squared distances to those faces are
 * within r² (with a side of at least 2r no cell two steps away can be touched). Every
 * sketch within the distance lies in a visited cell, and each candidate is confirmed with
 * the same exact test as before, so the count is the count a full scan gives: nothing is
 * approximated. On MNIST with 4,096 stored digits a query visits a few dozen buckets
 * holding a few hundred sketches. Traffic that crowds one cell (an attacker's
 * near-duplicates, by design) makes that bucket long, which costs about what the full
 * scan always cost.
 *
 * Texts: near-duplicates need word counts within a factor of the similarity threshold
 * (Jaccard ≤ min/max), so texts go into buckets of log word count one factor wide and a
 * query visits its own and the neighbouring ones (two each side, for rounding).
 *
 * Buckets are arrays with swap-removal (each entry knows its position), so adding and
 * forgetting an entry cost O(1); empty buckets are deleted, so memory follows the entries.
 */
import { COARSE_GROUPS, type ImageSketch, type Sketch, type TextSketch } from './sketch.js';

/** One stored sketch with its place in the index. */
export interface IndexedEntry {
  readonly sketch: Sketch;
  readonly time: number;
  /** Bucket key (set by the index). */
  key: number;
  /** Position in the bucket's array (set by the index). */
  pos: number;
}

/** The similarity thresholds the index must not miss. */
export interface NearThresholds {
  /** RMS distance between image sketches (fraction of the input range). */
  readonly distance: number;
  /** Jaccard similarity of text sketches. */
  readonly textSimilarity: number;
}

/** Bytes the index adds per entry (bucket slot, key and position), for the memory bound. */
export const INDEX_BYTES_PER_ENTRY = 48;

const mix = (h: number, v: number): number => Math.imul(h ^ v, 0x9e3779b1) ^ (h >>> 15);
// A margin on each face distance, so float rounding in the cell arithmetic can only add candidates, never drop one.
const SLACK = 1e-6;
/**
 * Grid side in radii. At least 2, so a ball reaches at most one cell past its own per axis;
 * a little more, so a value in the middle of a cell (blank image regions sit at 0, a cell
 * centre) does not reach both neighbours: on MNIST 2.5 visits ~28 buckets and ~280
 * sketches per query against 4,096 stored, where 2 visits ~52 and ~160.
 */
const SIDE_IN_RADII = 2.5;

export class NearIndex {
  private readonly buckets = new Map<number, IndexedEntry[]>();
  private readonly textLog: number;
  // Scratch for one query (the walk is synchronous): the query's cell and its distances to the faces.
  private readonly own = new Int32Array(COARSE_GROUPS);
  private readonly below = new Float64Array(COARSE_GROUPS);
  private readonly above = new Float64Array(COARSE_GROUPS);
  private budget = 0;
  private visit: (entry: IndexedEntry) => void = () => {};

  constructor(private readonly t: NearThresholds) {
    // Bucket width in ln(word count); a threshold of 1 leaves one bucket per count.
    this.textLog = t.textSimilarity < 1 ? Math.log(1 / t.textSimilarity) : 0;
  }

  /** Buckets held now. */
  get size(): number {
    return this.buckets.size;
  }

  add(entry: IndexedEntry): void {
    const key = this.keyOf(entry.sketch);
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = [];
      this.buckets.set(key, bucket);
    }
    entry.key = key;
    entry.pos = bucket.length;
    bucket.push(entry);
  }

  remove(entry: IndexedEntry): void {
    const bucket = this.buckets.get(entry.key);
    if (!bucket) return;
    const last = bucket.pop() as IndexedEntry;
    if (last !== entry) {
      bucket[entry.pos] = last;
      last.pos = entry.pos;
    }
    if (bucket.length === 0) this.buckets.delete(entry.key);
  }

  clear(): void {
    this.buckets.clear();
  }

  /**
   * Calls `visit` on every entry that could be a near-duplicate of `sketch`: a superset of
   * them, which may include sketches of the other kind or size (bucket keys are hashes), so
   * the caller confirms each with the exact test.
   */
  candidates(sketch: Sketch, visit: (entry: IndexedEntry) => void): void {
    if (sketch.kind === 'text') {
      const b = this.textBucket(sketch);
      for (let d = -2; d <= 2; d++) this.buckets.get(mix(0x7e47, b + d))?.forEach(visit);
      return;
    }
    const { side, cells } = this.grid(sketch);
    const q = sketch.coarse;
    const { own, below, above } = this;
    this.budget = this.t.distance * this.t.distance * cells.length * (1 + SLACK);
    this.visit = visit;
    for (let g = 0; g < COARSE_GROUPS; g++) {
      const v = (q[g] as number) / side + 0.5;
      const c = Math.floor(v);
      own[g] = c;
      // Distances to the cell's lower and upper faces, in units of the side, less the slack.
      below[g] = Math.max(0, (v - c) * side - SLACK * side);
      above[g] = Math.max(0, (c + 1 - v) * side - SLACK * side);
    }
    this.walk(0, mix(0x1a6e, cells.length), 0);
  }

  /** Visits the cells whose faces along axes g.. are within the remaining budget. */
  private walk(g: number, h: number, used: number): void {
    if (g === COARSE_GROUPS) {
      const bucket = this.buckets.get(h);
      if (bucket) for (let i = 0; i < bucket.length; i++) this.visit(bucket[i] as IndexedEntry);
      return;
    }
    const c = this.own[g] as number;
    this.walk(g + 1, mix(h, c), used);
    const lo = (this.below[g] as number) ** 2;
    if (used + lo <= this.budget) this.walk(g + 1, mix(h, c - 1), used + lo);
    const hi = (this.above[g] as number) ** 2;
    if (used + hi <= this.budget) this.walk(g + 1, mix(h, c + 1), used + hi);
  }

  private grid(sketch: ImageSketch): { side: number; cells: Float32Array } {
    const side = SIDE_IN_RADII * this.t.distance * Math.sqrt(sketch.cells.length);
    return { side: side > 0 ? side : 1, cells: sketch.cells };
  }

  private textBucket(sketch: TextSketch): number {
    if (sketch.words === 0) return -8;
    return this.textLog > 0 ? Math.floor(Math.log(sketch.words) / this.textLog) : sketch.words;
  }

  private keyOf(sketch: Sketch): number {
    if (sketch.kind === 'text') return mix(0x7e47, this.textBucket(sketch));
    const { side, cells } = this.grid(sketch);
    let h = mix(0x1a6e, cells.length);
    for (let g = 0; g < COARSE_GROUPS; g++) h = mix(h, Math.floor((sketch.coarse[g] as number) / side + 0.5));
    return h;
  }
}

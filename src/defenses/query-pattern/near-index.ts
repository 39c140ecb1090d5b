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
 * Identical sketches (the same input sent again, the commonest repeat) are stored once
 * with a count, so a query confirms each distinct input once. Buckets are arrays with
 * swap-removal (each point knows its position), so adding and forgetting an example cost
 * O(1); empty buckets are deleted, so memory follows the entries.
 */
import { COARSE_GROUPS, imageDistanceWithin, type ImageSketch, type Sketch, type TextSketch } from './sketch.js';

/** One distinct stored sketch: how many stored examples it stands for, and its place in its bucket. */
export interface IndexedPoint {
  readonly sketch: Sketch;
  /** Stored examples with exactly this sketch. */
  count: number;
  readonly key: number;
  readonly content: number;
  pos: number;
}

/** The similarity thresholds the index must not miss. */
export interface NearThresholds {
  /** RMS distance between image sketches (fraction of the input range). */
  readonly distance: number;
  /** Jaccard similarity of text sketches. */
  readonly textSimilarity: number;
}

/** Bytes the index adds per example (ring slot, point share, bucket slot, occupancy slots), for the memory bound. */
export const INDEX_BYTES_PER_ENTRY = 128;

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

// One float's bits, read through a shared scratch (no view allocated per sketch).
const FLOAT = new Float32Array(1);
const FLOAT_BITS = new Int32Array(FLOAT.buffer);

/** A hash of a sketch's exact content, to find an identical stored one. */
function contentHash(sketch: Sketch): number {
  if (sketch.kind === 'text') {
    let h = mix(0x7e47, sketch.words);
    for (let i = 0; i < sketch.hashes.length; i++) h = mix(h, sketch.hashes[i] as number);
    return h;
  }
  let h = 0x1a6e;
  const cells = sketch.cells;
  for (let i = 0; i < cells.length; i++) {
    FLOAT[0] = cells[i] as number;
    h = mix(h, FLOAT_BITS[0] as number);
  }
  return h;
}

function identical(a: Sketch, b: Sketch): boolean {
  if (a.kind === 'image') {
    if (b.kind !== 'image' || a.cells.length !== b.cells.length) return false;
    for (let i = 0; i < a.cells.length; i++) if (a.cells[i] !== b.cells[i]) return false;
    return true;
  }
  if (b.kind !== 'text' || a.words !== b.words || a.hashes.length !== b.hashes.length) return false;
  for (let i = 0; i < a.hashes.length; i++) if (a.hashes[i] !== b.hashes[i]) return false;
  return true;
}

/**
 * One bucket: its points, and beside them their coarse summaries in one typed array
 * (Infinity for a text), so the first test over a bucket reads contiguous numbers instead
 * of chasing an object per point.
 */
class Bucket {
  readonly points: IndexedPoint[] = [];
  coarse = new Float32Array(4 * COARSE_GROUPS);

  push(point: IndexedPoint): void {
    const at = this.points.length * COARSE_GROUPS;
    if (at + COARSE_GROUPS > this.coarse.length) {
      const grown = new Float32Array(this.coarse.length * 2);
      grown.set(this.coarse);
      this.coarse = grown;
    }
    const sketch = point.sketch;
    if (sketch.kind === 'image') this.coarse.set(sketch.coarse, at);
    else this.coarse.fill(Infinity, at, at + COARSE_GROUPS);
    point.pos = this.points.length;
    this.points.push(point);
  }

  /** Swap-removes `point`: the last point takes its place. */
  remove(point: IndexedPoint): void {
    const last = this.points.pop() as IndexedPoint;
    if (last === point) return;
    const from = this.points.length * COARSE_GROUPS;
    this.coarse.copyWithin(point.pos * COARSE_GROUPS, from, from + COARSE_GROUPS);
    this.points[point.pos] = last;
    last.pos = point.pos;
  }
}

/** Adds `by` to the slot of `key` (its low bits; the table's length is a power of two). */
function bump(table: Uint32Array, key: number, by: number): void {
  const at = key & (table.length - 1);
  table[at] = (table[at] as number) + by;
}

/** Fewest slots in the occupancy table; it doubles under 4 slots per bucket and halves past 16 (at most 64 bytes a bucket). */
const MIN_SLOTS = 64;

export class NearIndex {
  private readonly buckets = new Map<number, Bucket>();
  /**
   * Buckets by the low bits of their key: a query visits tens of cells and most hold no
   * bucket, so it reads a slot here (a few cache lines for the whole walk) and asks the map
   * only when the slot is non-zero. Counts, not bits, so forgetting a bucket clears its slot
   * only when no other bucket shares it: a slot is never zero while a bucket maps to it.
   */
  private occupied = new Uint32Array(MIN_SLOTS);
  /** Points by content hash (a short list on a collision). */
  private readonly byContent = new Map<number, IndexedPoint[]>();
  private readonly textLog: number;
  // Scratch for one query (the walk is synchronous): the query, its cell and its distances to the faces.
  private readonly own = new Int32Array(COARSE_GROUPS);
  private readonly below = new Float64Array(COARSE_GROUPS);
  private readonly above = new Float64Array(COARSE_GROUPS);
  private budget = 0;
  private query: ImageSketch | undefined;
  private found = 0;

  constructor(private readonly t: NearThresholds) {
    // Bucket width in ln(word count); a threshold of 1 leaves one bucket per count.
    this.textLog = t.textSimilarity < 1 ? Math.log(1 / t.textSimilarity) : 0;
  }

  /** Buckets held now. */
  get size(): number {
    return this.buckets.size;
  }

  /** Distinct sketches held now. */
  get distinct(): number {
    let n = 0;
    for (const b of this.buckets.values()) n += b.points.length;
    return n;
  }

  /** Stores one example's sketch; the returned point is what `remove` takes to forget it. */
  add(sketch: Sketch): IndexedPoint {
    const content = contentHash(sketch);
    let same = this.byContent.get(content);
    if (same) {
      for (let i = 0; i < same.length; i++) {
        const p = same[i] as IndexedPoint;
        if (identical(p.sketch, sketch)) {
          p.count++;
          return p;
        }
      }
    }
    const key = this.keyOf(sketch);
    const point: IndexedPoint = { sketch, count: 1, key, content, pos: 0 };
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = new Bucket();
      this.buckets.set(key, bucket);
      if (this.buckets.size * 4 > this.occupied.length) this.resize(this.occupied.length * 2);
      else bump(this.occupied, key, 1);
    }
    bucket.push(point);
    if (!same) {
      same = [];
      this.byContent.set(content, same);
    }
    same.push(point);
    return point;
  }

  /** Forgets one example stored as `point`. */
  remove(point: IndexedPoint): void {
    if (--point.count > 0) return;
    const bucket = this.buckets.get(point.key);
    if (bucket) {
      bucket.remove(point);
      if (bucket.points.length === 0) {
        this.buckets.delete(point.key);
        const slots = this.occupied.length;
        if (slots > MIN_SLOTS && this.buckets.size * 16 < slots) this.resize(slots / 2);
        else bump(this.occupied, point.key, -1);
      }
    }
    const same = this.byContent.get(point.content);
    if (same) {
      same.splice(same.indexOf(point), 1);
      if (same.length === 0) this.byContent.delete(point.content);
    }
  }

  clear(): void {
    this.buckets.clear();
    this.occupied = new Uint32Array(MIN_SLOTS);
    this.byContent.clear();
  }

  /**
   * Stored images within `distance` (RMS) of `sketch`: the count a full scan with
   * `imageDistanceWithin` gives, read from the buckets the distance ball touches.
   */
  countImages(sketch: ImageSketch): number {
    const side = this.side(sketch);
    const q = sketch.coarse;
    const { own, below, above } = this;
    this.budget = this.t.distance * this.t.distance * sketch.cells.length;
    this.query = sketch;
    this.found = 0;
    for (let g = 0; g < COARSE_GROUPS; g++) {
      const v = (q[g] as number) / side + 0.5;
      const c = Math.floor(v);
      own[g] = c;
      // Distances to the cell's lower and upper faces, less a margin for rounding.
      below[g] = Math.max(0, (v - c) * side - SLACK * side);
      above[g] = Math.max(0, (c + 1 - v) * side - SLACK * side);
    }
    this.walk(0, mix(0x1a6e, sketch.cells.length), 0);
    this.query = undefined;
    return this.found;
  }

  /**
   * Calls `visit` on every distinct stored text that could be within the similarity of
   * `sketch`, with how many examples it stands for: a superset of them (bucket keys are
   * hashes, so other points may come along), which the caller confirms.
   */
  textCandidates(sketch: TextSketch, visit: (other: Sketch, count: number) => void): void {
    const b = this.textBucket(sketch);
    for (let d = -2; d <= 2; d++) {
      const bucket = this.buckets.get(mix(0x7e47, b + d));
      if (bucket) for (const p of bucket.points) visit(p.sketch, p.count);
    }
  }

  /** Visits the cells whose faces along axes g.. are within the remaining budget. */
  private walk(g: number, h: number, used: number): void {
    if (g === COARSE_GROUPS) {
      if (this.occupied[h & (this.occupied.length - 1)] === 0) return;
      const bucket = this.buckets.get(h);
      if (bucket) this.scan(bucket);
      return;
    }
    const c = this.own[g] as number;
    this.walk(g + 1, mix(h, c), used);
    const lo = (this.below[g] as number) ** 2;
    if (used + lo <= this.budget * (1 + SLACK)) this.walk(g + 1, mix(h, c - 1), used + lo);
    const hi = (this.above[g] as number) ** 2;
    if (used + hi <= this.budget * (1 + SLACK)) this.walk(g + 1, mix(h, c + 1), used + hi);
  }

  /** The coarse lower bound over the bucket's side-by-side summaries, the full distance for what survives it. */
  private scan(bucket: Bucket): void {
    const q = (this.query as ImageSketch).coarse;
    const flat = bucket.coarse;
    const budget = this.budget;
    const n = bucket.points.length;
    for (let i = 0; i < n; i++) {
      let sum = 0;
      let g = 0;
      for (const base = i * COARSE_GROUPS; g < COARSE_GROUPS; g++) {
        const d = (flat[base + g] as number) - (q[g] as number);
        sum += d * d;
        if (sum > budget) break;
      }
      if (g < COARSE_GROUPS) continue;
      const point = bucket.points[i] as IndexedPoint;
      const other = point.sketch;
      if (other.kind === 'image' && imageDistanceWithin(this.query as ImageSketch, other, this.t.distance)) this.found += point.count;
    }
  }

  /** Rebuilds the occupancy table with `slots` slots (a power of two) from the buckets held. */
  private resize(slots: number): void {
    const table = new Uint32Array(slots);
    for (const key of this.buckets.keys()) bump(table, key, 1);
    this.occupied = table;
  }

  private side(sketch: ImageSketch): number {
    const side = SIDE_IN_RADII * this.t.distance * Math.sqrt(sketch.cells.length);
    return side > 0 ? side : 1;
  }

  private textBucket(sketch: TextSketch): number {
    if (sketch.words === 0) return -8;
    return this.textLog > 0 ? Math.floor(Math.log(sketch.words) / this.textLog) : sketch.words;
  }

  private keyOf(sketch: Sketch): number {
    if (sketch.kind === 'text') return mix(0x7e47, this.textBucket(sketch));
    const side = this.side(sketch);
    let h = mix(0x1a6e, sketch.cells.length);
    for (let g = 0; g < COARSE_GROUPS; g++) h = mix(h, Math.floor((sketch.coarse[g] as number) / side + 0.5));
    return h;
  }
}

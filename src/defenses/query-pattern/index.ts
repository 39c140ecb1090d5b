/**
 * Stateful query-pattern detection. Black-box attacks (boundary, HopSkipJump, Square,
 * SimBA; word-substitution search on text) need many queries that differ from each other
 * by a little noise; ordinary clients rarely send the same input twice in a short time.
 * So each client keeps a sliding window of sketches of its recent inputs, and each new
 * input counts how many of them it nearly duplicates. Images are sketched by average
 * pooling to at most 7 cells per spatial axis (the pooling also averages attack noise
 * away, so perturbed copies of one image collapse onto one sketch); texts by their set of
 * lowercase words, compared by Jaccard similarity.
 *
 * Reference: Chen, Carlini, Wagner, "Stateful Detection of Black-Box Adversarial Attacks"
 * (2019), https://arxiv.org/abs/1907.05587, which keeps a per-client history of encoded
 * queries and counts nearest neighbours within a threshold; we use a fixed pooling
 * encoder instead of a learned one.
 */
import type { Bounds } from '../../core/types.js';
import { sizeOf } from '../../core/types.js';
import { thresholdDecision, type DefenseLayer, type GuardContext, type LayerVerdict } from '../layer.js';

export interface QueryPatternOptions {
  /** Recent inputs remembered per client. */
  window?: number;
  /** Inputs older than this (ms) are forgotten. */
  windowMs?: number;
  /** RMS distance between image sketches, as a fraction of the input range, under which two inputs count as near-duplicates. */
  distance?: number;
  /** Jaccard similarity of word sets at or above which two texts count as near-duplicates. */
  textSimilarity?: number;
  /** Near-duplicates in the window that flag the request. */
  flagAt?: number;
  /** Near-duplicates in the window that deny it. */
  denyAt?: number;
  /** Clients tracked at once; the least recently seen are forgotten first. */
  maxClients?: number;
  /** Clock, for tests. */
  now?: () => number;
}

const DEFAULTS = { window: 64, windowMs: 10 * 60_000, distance: 0.04, textSimilarity: 0.7, flagAt: 8, denyAt: 24, maxClients: 10_000 };

type Sketch = Float32Array | Set<string>;

interface History {
  times: number[];
  sketches: Sketch[];
}

/**
 * Average-pools an example to at most 7 cells per spatial axis (channels averaged), scaled
 * to [0, 1] by the bounds. Non-image shapes are cut into at most 64 equal segments.
 */
export function imageSketch(x: Float32Array, offset: number, shape: readonly number[], bounds: Bounds): Float32Array {
  const range = bounds.max - bounds.min || 1;
  if (shape.length === 3 || shape.length === 2) {
    const [h, w] = shape as [number, number];
    const c = shape.length === 3 ? (shape[2] as number) : 1;
    const bh = Math.min(h, 7);
    const bw = Math.min(w, 7);
    const out = new Float32Array(bh * bw);
    const counts = new Float32Array(bh * bw);
    for (let i = 0; i < h; i++) {
      const row = Math.floor((i * bh) / h);
      for (let j = 0; j < w; j++) {
        const cell = row * bw + Math.floor((j * bw) / w);
        const base = offset + (i * w + j) * c;
        for (let k = 0; k < c; k++) out[cell] = (out[cell] as number) + ((x[base + k] as number) - bounds.min) / range;
        counts[cell] = (counts[cell] as number) + c;
      }
    }
    for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) / (counts[i] as number);
    return out;
  }
  const size = sizeOf(shape);
  const bins = Math.min(size, 64);
  const out = new Float32Array(bins);
  for (let i = 0; i < size; i++) {
    const b = Math.floor((i * bins) / size);
    out[b] = (out[b] as number) + ((x[offset + i] as number) - bounds.min) / range;
  }
  for (let b = 0; b < bins; b++) {
    const width = Math.floor(((b + 1) * size) / bins) - Math.floor((b * size) / bins);
    out[b] = (out[b] as number) / Math.max(1, width);
  }
  return out;
}

/** Lowercase word set of a text, the sketch near-duplicate texts share. */
export function textSketch(text: string): Set<string> {
  return new Set(text.toLowerCase().normalize('NFKC').split(/[^\p{L}\p{N}]+/u).filter((w) => w.length > 0));
}

function rms(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] as number) - (b[i] as number);
    sum += d * d;
  }
  return Math.sqrt(sum / Math.max(1, a.length));
}

function jaccard(a: Set<string>, b: Set<string>): number {
  if (a.size === 0 && b.size === 0) return 1;
  let shared = 0;
  const [small, large] = a.size <= b.size ? [a, b] : [b, a];
  for (const w of small) if (large.has(w)) shared++;
  return shared / (a.size + b.size - shared);
}

/**
 * The query-pattern layer. The score is the largest number of near-duplicates any example
 * of the request has among its client's recent inputs.
 *
 * @example const layer = queryPatternLayer({ flagAt: 5, denyAt: 20 });
 */
export function queryPatternLayer(options: QueryPatternOptions = {}): DefenseLayer & { clients(): number; reset(): void } {
  const o = { ...DEFAULTS, ...options };
  const now = options.now ?? (() => Date.now());
  const clients = new Map<string, History>();

  const nearDuplicates = (history: History, sketch: Sketch): number => {
    let count = 0;
    for (const other of history.sketches) {
      if (sketch instanceof Float32Array) {
        if (other instanceof Float32Array && other.length === sketch.length && rms(sketch, other) <= o.distance) count++;
      } else if (other instanceof Set && jaccard(sketch, other) >= o.textSimilarity) count++;
    }
    return count;
  };

  return {
    id: 'query-pattern',
    stage: 'input',
    clients: () => clients.size,
    reset: () => clients.clear(),
    check(ctx: GuardContext): LayerVerdict {
      const t = now();
      let history = clients.get(ctx.clientId);
      if (history) clients.delete(ctx.clientId);
      else history = { times: [], sketches: [] };
      // Re-inserting keeps the Map in least-recently-seen order for eviction.
      clients.set(ctx.clientId, history);
      if (clients.size > o.maxClients) clients.delete(clients.keys().next().value as string);
      let drop = 0;
      while (drop < history.times.length && t - (history.times[drop] as number) > o.windowMs) drop++;
      if (drop > 0) {
        history.times.splice(0, drop);
        history.sketches.splice(0, drop);
      }

      const sketches: Sketch[] = [];
      if (ctx.batch) {
        const size = sizeOf(ctx.batch.shape);
        for (let i = 0; i < ctx.batch.count; i++) sketches.push(imageSketch(ctx.batch.x, i * size, ctx.batch.shape, ctx.model.bounds));
      } else if (ctx.texts) {
        for (const text of ctx.texts) sketches.push(textSketch(text));
      }
      let worst = 0;
      for (const sketch of sketches) {
        worst = Math.max(worst, nearDuplicates(history, sketch));
        history.times.push(t);
        history.sketches.push(sketch);
      }
      const excess = history.sketches.length - o.window;
      if (excess > 0) {
        history.times.splice(0, excess);
        history.sketches.splice(0, excess);
      }
      const decision = thresholdDecision(worst, o.flagAt, o.denyAt);
      if (decision === 'pass') return { decision, score: worst };
      return {
        decision,
        score: worst,
        code: 'E_QUERY_PATTERN',
        reason: `${worst} near-duplicates of this input among the client's last ${history.sketches.length} queries (flag at ${o.flagAt}, deny at ${o.denyAt})`,
      };
    },
  };
}

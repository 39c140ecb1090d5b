/**
 * Stateful query-pattern detection. Black-box attacks (boundary, HopSkipJump, Square,
 * SimBA; word-substitution search on text) need many queries that differ from each other
 * by a little noise; ordinary clients rarely send the same input twice in a short time.
 * So each client keeps a history of sketches of its recent inputs (see `sketch.ts`),
 * thousands of examples long, and each new example counts how many of them it nearly
 * duplicates, including the examples before it in the same request. The history is
 * counted in examples, not requests, so padding probes with ordinary inputs in one large
 * batch cannot flush it; all histories together stay under one memory bound.
 *
 * Reference: Chen, Carlini, Wagner, "Stateful Detection of Black-Box Adversarial Attacks"
 * (2019), https://arxiv.org/abs/1907.05587, which keeps a per-client history of encoded
 * queries and counts nearest neighbours within a threshold; we use a fixed pooling
 * encoder instead of a learned one.
 */
import { sizeOf } from '../../core/types.js';
import { thresholdDecision, type DefenseLayer, type GuardContext, type LayerVerdict } from '../layer.js';
import { HistoryStore, type ClientHistory } from './history.js';
import { sketchImage, sketchText, textSimilarity, type Sketch } from './sketch.js';

export { imageSketch, textSketch, sketchImage, sketchText } from './sketch.js';

export interface QueryPatternOptions {
  /** Recent examples remembered per client (examples, not requests). */
  window?: number;
  /** Examples older than this (ms) are forgotten. */
  windowMs?: number;
  /** RMS distance between image sketches, as a fraction of the input range, under which two inputs count as near-duplicates. */
  distance?: number;
  /** Jaccard similarity of word sets at or above which two texts count as near-duplicates. */
  textSimilarity?: number;
  /** Near-duplicates of one example that flag it (and the request). */
  flagAt?: number;
  /** Near-duplicates of one example that deny the request. */
  denyAt?: number;
  /** Clients tracked at once; the least recently seen are forgotten first. */
  maxClients?: number;
  /** Examples remembered over all clients (the memory bound); the least recently seen clients are forgotten first. */
  maxExamples?: number;
  /** Clock, for tests. */
  now?: () => number;
}

/**
 * Defaults. The distance is set on the bundled MNIST: 10,000 distinct digits sent by one
 * client against a 4,096-example history reach at most 19 near-duplicates (22 of them
 * reach 8, none 24), while the same digit with ±0.15 uniform noise per pixel lands
 * within it of its other noisy copies. 100,000 distinct image sketches with their index entries hold
 * roughly 50 MB (estimated: ~25 MB of sketches, ~20 MB of index, up to 6 MB of occupancy slots; repeated inputs share one sketch).
 */
const DEFAULTS = {
  window: 4096,
  windowMs: 10 * 60_000,
  distance: 0.02,
  textSimilarity: 0.7,
  flagAt: 8,
  denyAt: 24,
  maxClients: 10_000,
  maxExamples: 100_000,
};

/** The query-pattern layer with its memory readings, for tests and the status route. */
export interface QueryPatternLayer extends DefenseLayer {
  /** Clients tracked now. */
  clients(): number;
  /** Examples held over all clients. */
  examples(): number;
  reset(): void;
}

/**
 * The query-pattern layer. Each example's score is its number of near-duplicates among
 * its client's history and the earlier examples of its request; the request's score is
 * the largest, and the verdict names the examples at or above `flagAt`.
 *
 * @example const layer = queryPatternLayer({ flagAt: 5, denyAt: 20 });
 */
export function queryPatternLayer(options: QueryPatternOptions = {}): QueryPatternLayer {
  const o = { ...DEFAULTS, ...options };
  const now = options.now ?? (() => Date.now());
  const store = new HistoryStore(o);

  // Counts the near-duplicates of `sketch` with the exact tests a full scan applies, over
  // the candidates the client's index yields (see near-index.ts).
  const nearDuplicates = (history: ClientHistory, sketch: Sketch): number => {
    if (sketch.kind === 'image') return history.index.countImages(sketch);
    let count = 0;
    history.index.textCandidates(sketch, (other, times) => {
      if (other.kind !== 'text') return;
      // Jaccard can be no larger than the ratio of the set sizes.
      if (Math.min(sketch.words, other.words) < o.textSimilarity * Math.max(sketch.words, other.words)) return;
      if (textSimilarity(sketch, other) >= o.textSimilarity) count += times;
    });
    return count;
  };

  return {
    id: 'query-pattern',
    stage: 'input',
    clients: () => store.size,
    examples: () => store.totalExamples,
    reset: () => store.clear(),
    check(ctx: GuardContext): LayerVerdict {
      const t = now();
      const history = store.touch(ctx.clientId, t);
      const sketches: Sketch[] = [];
      if (ctx.batch) {
        const size = sizeOf(ctx.batch.shape);
        for (let i = 0; i < ctx.batch.count; i++) sketches.push(sketchImage(ctx.batch.x, i * size, ctx.batch.shape, ctx.model.bounds));
      } else if (ctx.texts) {
        for (const text of ctx.texts) sketches.push(sketchText(text));
      }
      const perExample: number[] = [];
      const flagged: number[] = [];
      let worst = 0;
      let worstAt = 0;
      for (let i = 0; i < sketches.length; i++) {
        const sketch = sketches[i] as Sketch;
        // Appending before the next example is scored makes repeats inside one batch count too.
        const count = nearDuplicates(history, sketch);
        store.append(ctx.clientId, history, sketch, t);
        perExample.push(count);
        if (count >= o.flagAt) flagged.push(i);
        if (count > worst) {
          worst = count;
          worstAt = i;
        }
      }
      const decision = thresholdDecision(worst, o.flagAt, o.denyAt);
      if (decision === 'pass') return { decision, score: worst, perExample };
      const where =
        sketches.length > 1 ? ` (example ${worstAt}; ${flagged.length} of ${sketches.length} examples at or above ${o.flagAt})` : '';
      return {
        decision,
        score: worst,
        code: 'E_QUERY_PATTERN',
        reason: `${worst} near-duplicates of an input among the client's last ${history.length} examples${where} (flag at ${o.flagAt}, deny at ${o.denyAt})`,
        examples: flagged,
        perExample,
      };
    },
  };
}

/**
 * A text filter's frontier, attack success against false-positive rate, from one attack run.
 *
 * A search against a filter flagging spam from threshold t stops at the first kept state
 * scoring below t; until then its every choice (word ranking, best candidate, refinement)
 * depends only on the order of the spam scores, which a threshold does not change. So a run
 * against the same filter at the lowest threshold of interest, with the search's kept
 * states recorded (`onStep`), tells for every higher threshold whether a run there would
 * have evaded and after how many queries, without attacking again. Below the run's
 * threshold it tells nothing exact (the search stopped once under it), so that is refused.
 */
import { UsageError } from '../core/errors.js';
import type { TextSearchStep } from '../attacks/text/types.js';

/** One attacked text's search, in the filter's raw positive-class probability (before its threshold). */
export interface TextSearchTrace {
  /** Raw positive-class probability of the clean text. */
  readonly clean: number;
  /** Each improvement of the kept state: queries spent so far and its raw probability (non-increasing). */
  readonly steps: readonly { readonly queries: number; readonly score: number }[];
  /** Queries the search spent on this text in all. */
  readonly queries: number;
}

/** A recorder for one attack run: pass `onStep` to the run, then `traces` its per-text query counts. */
export interface TextTraceRecorder {
  readonly onStep: (step: TextSearchStep) => void;
  traces(queries: ArrayLike<number>): TextSearchTrace[];
}

/** The attack at one threshold, derived from traces. */
export interface TextOperatingPoint {
  readonly threshold: number;
  /** Texts the filter flags before the attack. */
  readonly attacked: number;
  /** Of those, texts the search gets below the threshold. */
  readonly evaded: number;
  /** evaded / attacked (0 when none is attacked). */
  readonly successRate: number;
  /** Mean queries a run at this threshold spends per attacked text (to its flip, or all of its budget). */
  readonly queriesPerText: number;
}

function checkThreshold(threshold: number, what: string): void {
  if (!(threshold > 0 && threshold < 1)) {
    throw new UsageError('E_TEXT_FRONTIER', `Text frontier: ${what} must be a probability strictly between 0 and 1, got ${threshold}.`, {
      details: { threshold },
    });
  }
}

/**
 * Records the kept states of a run against `withDecisionThreshold(model, { positiveClass,
 * threshold })`, undoing the threshold's shift so scores are the model's own.
 *
 * @throws UsageError `E_TEXT_FRONTIER` for a threshold outside (0, 1) or a bad class index.
 * @example
 * const rec = recordTextTraces(texts.length, { positiveClass: 1, threshold: 0.2 });
 * const result = await attack.run(filterAt02, texts, labels, threat, { onStep: rec.onStep });
 * const at05 = textOperatingPoint(rec.traces(result.queries), 0.5, 0.2);
 */
export function recordTextTraces(count: number, options: { positiveClass: number; threshold: number }): TextTraceRecorder {
  checkThreshold(options.threshold, 'the attacked threshold');
  const c = options.positiveClass;
  if (!Number.isInteger(c) || c < 0) {
    throw new UsageError('E_TEXT_FRONTIER', `Text frontier: positiveClass must be a class index, got ${c}.`, { details: { class: c } });
  }
  const odds = (1 - options.threshold) / options.threshold;
  // The inverse of the threshold's prior shift s = odds·p / (odds·p + 1 - p), in double precision.
  const raw = (s: number): number => s / (s + odds * (1 - s));
  const clean = new Array<number>(count).fill(Number.NaN);
  const steps: { queries: number; score: number }[][] = Array.from({ length: count }, () => []);
  return {
    onStep: ({ index, queries, probs }) => {
      const score = raw(probs[c] as number);
      if (steps[index]?.length === 0 && Number.isNaN(clean[index])) clean[index] = score;
      else steps[index]?.push({ queries, score });
    },
    traces: (queries) =>
      clean.map((score, i) => ({ clean: score, steps: steps[i] as { queries: number; score: number }[], queries: queries[i] as number })),
  };
}

/**
 * The attack at `threshold`, from traces of a run at `attackedAt` (≤ threshold): the texts
 * flagged there, those the search got below it, and the queries a run there spends.
 *
 * @throws UsageError `E_TEXT_FRONTIER` when `threshold` is below `attackedAt` (only a bound
 *   there) or outside (0, 1).
 * @example const point = textOperatingPoint(traces, 0.7, 0.3);
 */
export function textOperatingPoint(traces: readonly TextSearchTrace[], threshold: number, attackedAt: number): TextOperatingPoint {
  checkThreshold(threshold, 'threshold');
  if (threshold < attackedAt) {
    throw new UsageError(
      'E_TEXT_FRONTIER',
      `Text frontier: threshold ${threshold} is below the threshold the traces were attacked at (${attackedAt}); attack at the lowest threshold you report.`,
      { details: { threshold, attackedAt } },
    );
  }
  let attacked = 0;
  let evaded = 0;
  let queries = 0;
  for (const trace of traces) {
    if (!(trace.clean >= threshold)) continue;
    attacked++;
    const stop = trace.steps.find((s) => s.score < threshold);
    if (stop) evaded++;
    queries += stop ? stop.queries : trace.queries;
  }
  return {
    threshold,
    attacked,
    evaded,
    successRate: attacked === 0 ? 0 : evaded / attacked,
    queriesPerText: attacked === 0 ? 0 : queries / attacked,
  };
}

/**
 * bench:text's operating points: one filter's thresholds under several ham false-positive
 * budgets, its clean metrics at each from one scoring of the test split, and the greedy
 * search's evasion at each from one traced attack per threat at the lowest of them
 * (src/eval/text-frontier.ts).
 */
import type { TextDataset } from '../src/data/text/text-dataset.js';
import { createTextAttack } from '../src/attacks/text/registry.js';
import {
  bestUnderBudget,
  chooseDecisionThreshold,
  withDecisionThreshold,
  type ThresholdPoint,
} from '../src/models/text/decision-threshold.js';
import { falsePositiveRate, precisionRecallF1, predictInBatches } from '../src/models/text/metrics.js';
import type { TextClassifier } from '../src/models/text/text-classifier.js';
import { recordTextTraces, textOperatingPoint, type TextOperatingPoint, type TextSearchTrace } from '../src/eval/text-frontier.js';
import type { TextThreatModel } from '../src/threats/text-threat.js';

export interface CleanAt {
  accuracy: number;
  f1: number;
  falsePositiveRate: number;
}

/** Clean accuracy, F1 and ham FPR at `threshold`, from the positive class's scores. */
export function cleanAt(scores: readonly number[], labels: ArrayLike<number>, positive: number, threshold: number): CleanAt {
  const predicted = scores.map((s) => (s >= threshold ? positive : -1));
  const correct = predicted.filter((p, i) => (p === positive) === (labels[i] === positive)).length;
  return {
    accuracy: correct / Math.max(1, scores.length),
    f1: precisionRecallF1(predicted, labels, positive).f1,
    falsePositiveRate: falsePositiveRate(predicted, labels, positive),
  };
}

export interface BudgetPoint {
  /** Ham FPR budget on validation. */
  budget: number;
  threshold: number;
  validationFpr: number;
  withinBudget: boolean;
  clean: CleanAt;
}

/**
 * From one scan of the validation split: the deployed operating point under `budget` (the
 * best validation F1 within it, as `chooseDecisionThreshold` picks) and the frontier's point
 * under each of `frontierBudgets`: the lowest threshold within it, the hardest to push
 * under that the budget allows (the best-F1 rule often stops at the same threshold for a
 * loose budget as for a tight one, which says nothing about what the looser one buys).
 */
export async function budgetPoints(
  scorer: TextClassifier,
  validation: TextDataset,
  test: { scores: readonly number[]; labels: ArrayLike<number> },
  positive: number,
  budget: number,
  frontierBudgets: readonly number[],
): Promise<{ operating: BudgetPoint; frontier: BudgetPoint[] }> {
  const scan = await chooseDecisionThreshold(scorer, validation, { positiveClass: positive, maxFalsePositiveRate: budget });
  const point = (b: number, p: ThresholdPoint): BudgetPoint => ({
    budget: b,
    threshold: p.threshold,
    validationFpr: p.falsePositiveRate,
    withinBudget: p.falsePositiveRate <= b + 1e-12,
    clean: cleanAt(test.scores, test.labels, positive, p.threshold),
  });
  return {
    operating: point(budget, scan),
    frontier: frontierBudgets.map((b) => {
      const within = scan.scanned.filter((p) => p.falsePositiveRate <= b + 1e-12);
      return point(b, within.length > 0 ? within.reduce((a, c) => (c.threshold < a.threshold ? c : a)) : bestUnderBudget(scan.scanned, b));
    }),
  };
}

/** Positive-class scores of texts. */
export async function scoresOf(model: TextClassifier, texts: readonly string[], positive: number): Promise<number[]> {
  return (await predictInBatches(model, texts)).map((p) => p[positive] as number);
}

export interface TracedAttack {
  threat: string;
  /** The threshold the search ran against: the lowest operating point. */
  attackedAt: number;
  traces: TextSearchTrace[];
  seconds: number;
  queries: number;
  /** Raw spam probability of each attacked text's final state. */
  finalScores: number[];
}

/** One greedy search of `texts` against `scorer` flagging from `attackedAt`, every kept state recorded. */
export async function tracedAttack(
  scorer: TextClassifier,
  texts: readonly string[],
  positive: number,
  threat: TextThreatModel,
  attackedAt: number,
  options: { maxQueries: number; seed: number },
): Promise<TracedAttack> {
  const recorder = recordTextTraces(texts.length, { positiveClass: positive, threshold: attackedAt });
  const t0 = performance.now();
  const result = await createTextAttack('greedy', { maxQueries: options.maxQueries }).run(
    withDecisionThreshold(scorer, { positiveClass: positive, threshold: attackedAt }),
    [...texts],
    Int32Array.from(texts, () => positive),
    threat,
    { seed: options.seed, onStep: recorder.onStep },
  );
  const traces = recorder.traces(result.queries);
  return {
    threat: threat.id,
    attackedAt,
    traces,
    seconds: (performance.now() - t0) / 1000,
    queries: result.queries.reduce((a, b) => a + b, 0),
    finalScores: traces.map((t) => Number((t.steps.at(-1)?.score ?? t.clean).toFixed(5))),
  };
}

/** Most memoised rows per message (two threats under a 2,000-query cap need 4,000); past it the memo starts over. */
const MEMO_ROWS = 8192;

/**
 * `scorer` with its rows memoised by text. The model is deterministic and a text's row does
 * not depend on its batch, so a memoised row is the row a fresh query would return: the
 * searches' results and query counts do not change, only the model calls do.
 */
function memoised(scorer: TextClassifier): { model: TextClassifier; clear(): void } {
  const memo = new Map<string, Float32Array>();
  return {
    clear: () => memo.clear(),
    model: {
      id: scorer.id,
      classes: scorer.classes,
      async predictProba(texts) {
        const missing = [...new Set(texts.filter((t) => !memo.has(t)))];
        if (missing.length > 0) {
          const rows = await scorer.predictProba(missing);
          if (memo.size + missing.length > MEMO_ROWS) memo.clear();
          missing.forEach((t, i) => memo.set(t, rows[i] as Float32Array));
        }
        return texts.map((t) => memo.get(t) as Float32Array);
      },
    },
  };
}

/**
 * One greedy search per threat of `texts` against `scorer` flagging from `attackedAt`, every
 * kept state recorded. The threats' searches of a message run one after the other over a
 * shared memo of the filter's rows: the capped threat is the stress threat with a word cap,
 * so the two take the same path (the clean query, the leave-one-out ranking, every candidate)
 * until the cap binds, and on a message of fewer than 50 words all the way. Each search is
 * run on its message alone with `firstRow` set, so it draws the generator a run over all
 * texts would give it: the results equal one run per threat (`--verify-frontier` checks).
 * Seconds per threat count its own searches (the second threat's are cheaper for the memo).
 */
export async function tracedAttacks(
  scorer: TextClassifier,
  texts: readonly string[],
  positive: number,
  threats: readonly TextThreatModel[],
  attackedAt: number,
  options: { maxQueries: number; seed: number },
): Promise<TracedAttack[]> {
  const attack = createTextAttack('greedy', { maxQueries: options.maxQueries });
  const memo = memoised(scorer);
  const model = withDecisionThreshold(memo.model, { positiveClass: positive, threshold: attackedAt });
  const runs = threats.map(() => ({
    recorder: recordTextTraces(texts.length, { positiveClass: positive, threshold: attackedAt }),
    queries: new Int32Array(texts.length),
    seconds: 0,
  }));
  for (let i = 0; i < texts.length; i++) {
    memo.clear();
    for (const [k, threat] of threats.entries()) {
      const run = runs[k] as (typeof runs)[number];
      const t0 = performance.now();
      const result = await attack.run(model, [texts[i] as string], Int32Array.of(positive), threat, {
        seed: options.seed,
        firstRow: i,
        onStep: (step) => run.recorder.onStep({ ...step, index: i }),
      });
      run.seconds += (performance.now() - t0) / 1000;
      run.queries[i] = result.queries[0] as number;
    }
  }
  memo.clear();
  return threats.map((threat, k) => {
    const run = runs[k] as (typeof runs)[number];
    const traces = run.recorder.traces(run.queries);
    return {
      threat: threat.id,
      attackedAt,
      traces,
      seconds: run.seconds,
      queries: run.queries.reduce((a, b) => a + b, 0),
      finalScores: traces.map((t) => Number((t.steps.at(-1)?.score ?? t.clean).toFixed(5))),
    };
  });
}

export interface PointAttack extends TextOperatingPoint {
  /** Seconds per attacked text at this point, estimated from the run's seconds per query. */
  secondsPerText: number;
}

/** The search's evasion at `threshold` (≥ the run's), with a time estimate. */
export function pointOf(run: TracedAttack, threshold: number): PointAttack {
  const point = textOperatingPoint(run.traces, threshold, run.attackedAt);
  return { ...point, secondsPerText: (point.queriesPerText * run.seconds) / Math.max(1, run.queries) };
}

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

export interface PointAttack extends TextOperatingPoint {
  /** Seconds per attacked text at this point, estimated from the run's seconds per query. */
  secondsPerText: number;
}

/** The search's evasion at `threshold` (≥ the run's), with a time estimate. */
export function pointOf(run: TracedAttack, threshold: number): PointAttack {
  const point = textOperatingPoint(run.traces, threshold, run.attackedAt);
  return { ...point, secondsPerText: (point.queriesPerText * run.seconds) / Math.max(1, run.queries) };
}

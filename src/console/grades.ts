/**
 * The headline grade of a model: the weakest threat decides. Robust accuracy is taken per
 * threat from the model's newest evaluation; the grade is the minimum over threats (never
 * an average, which would let a strong threat hide a weak one), banded into letters.
 */
import type { EvaluationResults } from '../eval/results.js';
import type { Rate } from '../eval/rate.js';

export interface ThreatScore {
  threat: string;
  robustAccuracy: number;
  rate?: Rate;
  passed?: boolean;
}

export interface Grade {
  letter: 'A' | 'B' | 'C' | 'D' | 'F' | '—';
  /** The minimum robust accuracy over threats, or null with none measured. */
  score: number | null;
  weakest: string | null;
  threats: ThreatScore[];
}

const BANDS: ReadonlyArray<[number, Grade['letter']]> = [
  [0.9, 'A'],
  [0.8, 'B'],
  [0.7, 'C'],
  [0.5, 'D'],
];

/** The letter for a minimum robust accuracy. */
export function letterFor(score: number | null): Grade['letter'] {
  if (score === null) return '—';
  return BANDS.find(([min]) => score >= min)?.[1] ?? 'F';
}

/** Grades one evaluation's results; `gate` holds each threat's gate verdict when known. */
export function gradeOf(
  results: Pick<EvaluationResults, 'robustAccuracy' | 'rates'>,
  gate: Record<string, { passed: boolean }> = {},
): Grade {
  const threats: ThreatScore[] = Object.entries(results.robustAccuracy).map(([threat, robustAccuracy]) => {
    const rate = results.rates?.robust[threat];
    const passed = gate[threat]?.passed;
    return { threat, robustAccuracy, ...(rate ? { rate } : {}), ...(passed === undefined ? {} : { passed }) };
  });
  threats.sort((a, b) => a.robustAccuracy - b.robustAccuracy);
  const weakest = threats[0];
  const score = weakest ? weakest.robustAccuracy : null;
  return { letter: letterFor(score), score, weakest: weakest?.threat ?? null, threats };
}

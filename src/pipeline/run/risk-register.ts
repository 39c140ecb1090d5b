/**
 * The plan's threats as risk-register rows for the report: inherent risk from the plan's
 * likelihood and impact, residual risk from the hardened model's measured attack success,
 * and whether the threat's criterion is met. Scoring is governance's, so the report and
 * the register agree.
 */
import { inherentScore, residualScore, riskBand } from '../../governance/risk-score.js';
import type { RiskRow } from '../../report/html/report.js';
import { IMPACTS, LIKELIHOODS, type Plan, type ThreatScenario } from '../plan/schema.js';
import type { EvaluationResults } from '../../eval/results.js';

/** 1 (rare) … 5 (almost certain), as the risk register scores it. */
export function likelihoodScore(t: ThreatScenario): number {
  return LIKELIHOODS.indexOf(t.likelihood) + 1;
}

/** 1 (negligible) … 5 (severe). */
export function impactScore(t: ThreatScenario): number {
  return IMPACTS.indexOf(t.impact) + 1;
}

/**
 * Share of the examples the model gets right that an attack within the threat breaks,
 * or undefined when the threat was not measured.
 */
export function attackSuccessRate(results: EvaluationResults, threatId: string): number | undefined {
  const robust = results.robustAccuracy[threatId];
  if (robust === undefined) return undefined;
  if (results.cleanAccuracy <= 0) return 1;
  return Math.min(1, Math.max(0, 1 - robust / results.cleanAccuracy));
}

/** @example const rows = riskRows(plan, candidateResults); */
export function riskRows(plan: Plan, results: EvaluationResults | undefined, riskIds: Record<string, string> = {}): RiskRow[] {
  return plan.threats.map((t) => {
    const l = likelihoodScore(t);
    const i = impactScore(t);
    const success = results ? attackSuccessRate(results, t.id) : undefined;
    const residual = success === undefined ? null : residualScore(l, i, success);
    const successRate = results?.rates?.attackSuccess?.[t.id];
    const measured = results?.robustAccuracy[t.id];
    const required = plan.criteria.robustAccuracy?.[t.id];
    const status: RiskRow['status'] =
      required === undefined
        ? 'no criterion'
        : measured === undefined
          ? 'not measured'
          : measured + 1e-9 >= required
            ? 'meets criterion'
            : 'below criterion';
    return {
      threat: t.id,
      channel: t.channel,
      technique: t.technique,
      ...(t.description === undefined ? {} : { description: t.description }),
      likelihood: t.likelihood,
      impact: t.impact,
      inherent: inherentScore(l, i),
      residual,
      band: riskBand(residual ?? inherentScore(l, i)),
      owner: t.owner,
      ...(successRate ? { attackSuccess: successRate } : {}),
      ...(measured === undefined ? {} : { measured }),
      ...(required === undefined ? {} : { required }),
      status,
      ...(riskIds[t.id] === undefined ? {} : { riskId: riskIds[t.id] }),
    };
  });
}

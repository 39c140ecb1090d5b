/**
 * The release gate: a pure function of the plan's criteria, the candidate's results and
 * (optionally) the production model's results. Every criterion becomes one named check
 * with what was measured and what was required, so CI output, JUnit, the report and the
 * registry all say the same thing. A criterion that was not measured fails: a gate that
 * passes on missing evidence is no gate.
 */
import type { PlanCriteria } from './plan/schema.js';
import type { EvaluationResults } from './run/results.js';

export type GateStatus = 'passed' | 'failed' | 'skipped';

export interface GateCheck {
  /** Stable id, e.g. `robust-accuracy:linf-0.3` or `regression:clean-accuracy`. */
  id: string;
  /** The criterion in words, e.g. `robust accuracy (linf-0.3) ≥ 70.0%`. */
  criterion: string;
  measured: number | null;
  required: number;
  passed: boolean;
  status: GateStatus;
  message: string;
  /** The threat id a check is about, when it is about one. */
  threat?: string;
}

export interface GateResult {
  passed: boolean;
  checks: GateCheck[];
  /** Name of the production model compared with, when there was one. */
  comparedWith?: string;
}

// Measured values come from float sums; don't fail a criterion by rounding noise.
const TOLERANCE = 1e-9;

const pct = (v: number): string => `${(100 * v).toFixed(1)}%`;
const pts = (v: number): string => `${(100 * v).toFixed(1)} pts`;

function atLeast(id: string, label: string, measured: number | undefined, required: number, threat?: string): GateCheck {
  const criterion = `${label} ≥ ${pct(required)}`;
  const base = { id, criterion, required, ...(threat === undefined ? {} : { threat }) };
  if (measured === undefined) return { ...base, measured: null, passed: false, status: 'failed', message: `${label} was not measured` };
  const passed = measured + TOLERANCE >= required;
  return { ...base, measured, passed, status: passed ? 'passed' : 'failed', message: `${label} ${pct(measured)} ${passed ? '≥' : '<'} ${pct(required)}` };
}

function atMost(id: string, label: string, measured: number | undefined, required: number, format: (v: number) => string): GateCheck {
  const criterion = `${label} ≤ ${format(required)}`;
  if (measured === undefined) return { id, criterion, required, measured: null, passed: false, status: 'failed', message: `${label} was not measured` };
  const passed = measured <= required + TOLERANCE;
  return { id, criterion, required, measured, passed, status: passed ? 'passed' : 'failed', message: `${label} ${format(measured)} ${passed ? '≤' : '>'} ${format(required)}` };
}

/**
 * Checks a candidate against the plan's criteria and the production model's results.
 * Regression is checked on clean accuracy and on every threat both results measured.
 *
 * @throws Nothing: missing measurements become failed checks.
 * @example
 * const gate = evaluateGate(plan.criteria, candidate, production);
 * if (!gate.passed) console.log(gate.checks.filter((c) => !c.passed).map((c) => c.message));
 */
export function evaluateGate(criteria: PlanCriteria, candidate: EvaluationResults, production?: EvaluationResults): GateResult {
  const checks: GateCheck[] = [];
  if (criteria.cleanAccuracy !== undefined) checks.push(atLeast('clean-accuracy', 'clean accuracy', candidate.cleanAccuracy, criteria.cleanAccuracy));
  for (const [threat, required] of Object.entries(criteria.robustAccuracy ?? {})) {
    const check = atLeast(`robust-accuracy:${threat}`, `robust accuracy (${threat})`, candidate.robustAccuracy[threat], required, threat);
    const why = candidate.unmeasured[threat];
    checks.push(check.measured === null && why ? { ...check, message: `${check.message}: ${why}` } : check);
  }
  for (const [threat, required] of Object.entries(criteria.certifiedAccuracy ?? {})) {
    checks.push(atLeast(`certified-accuracy:${threat}`, `certified accuracy (${threat})`, candidate.certifiedAccuracy?.[threat], required, threat));
  }
  if (criteria.ece !== undefined) checks.push(atMost('ece', 'expected calibration error', candidate.ece, criteria.ece, (v) => v.toFixed(4)));
  if (criteria.latencyP99Ms !== undefined) checks.push(atMost('latency-p99', 'latency p99', candidate.latencyP99Ms, criteria.latencyP99Ms, (v) => `${v.toFixed(2)} ms`));
  const maxDrop = criteria.maxRegression;
  if (maxDrop !== undefined) {
    if (!production) {
      checks.push({
        id: 'regression',
        criterion: `no accuracy more than ${pts(maxDrop)} below production`,
        measured: null,
        required: maxDrop,
        passed: true,
        status: 'skipped',
        message: 'no production results to compare with (first release)',
      });
    } else {
      const pairs: [string, string, number, number | undefined, string | undefined][] = [['regression:clean-accuracy', 'clean accuracy', production.cleanAccuracy, candidate.cleanAccuracy, undefined]];
      // In the candidate's (the plan's) order; production results may come back with sorted keys.
      for (const [threat, value] of Object.entries(candidate.robustAccuracy)) {
        const before = production.robustAccuracy[threat];
        if (before !== undefined) pairs.push([`regression:robust-accuracy:${threat}`, `robust accuracy (${threat})`, before, value, threat]);
      }
      for (const [id, label, before, after, threat] of pairs) {
        const required = Math.max(0, before - maxDrop);
        const criterion = `${label} ≥ production ${pct(before)} − ${pts(maxDrop)}`;
        const drop = before - (after ?? 0);
        const passed = after !== undefined && after + TOLERANCE >= required;
        checks.push({
          id,
          criterion,
          measured: after ?? null,
          required,
          passed,
          status: passed ? 'passed' : 'failed',
          message: `${label} ${after === undefined ? 'not measured' : pct(after)} vs production ${pct(before)} (${drop > 0 ? `drop ${pts(drop)}` : `gain ${pts(-drop)}`}; at most ${pts(maxDrop)} allowed)`,
          ...(threat === undefined ? {} : { threat }),
        });
      }
    }
  }
  return { passed: checks.every((c) => c.passed), checks, ...(production ? { comparedWith: production.model.name } : {}) };
}

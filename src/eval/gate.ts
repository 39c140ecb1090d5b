/**
 * The release gate: a pure function of the plan's criteria, the candidate's results and
 * (optionally) the production model's results. Every criterion becomes one named check
 * with what was measured and what was required, so CI output, JUnit, the report and the
 * registry all say the same thing. A criterion that was not measured fails: a gate that
 * passes on missing evidence is no gate.
 */
import type { GateCriteria } from './gate-criteria.js';
import { formatInterval, type Rate } from './rate.js';
import type { EvaluationResults, MaskingSummary } from './results.js';

export { gateCriteriaSchema, CONFIDENCE_MODES, type GateCriteria } from './gate-criteria.js';

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
  /** The measured rate with its n and 95% interval, when the results carry it. */
  interval?: Rate;
  /** What a check that passed still wants the reader to see (masking checks that warned). */
  warnings?: string[];
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

interface RateContext {
  rate?: Rate | undefined;
  lowerBound: boolean;
  /** The suite was switched off: the number is an upper bound from weaker attacks. */
  upperBound?: boolean;
}

function atLeast(
  id: string,
  label: string,
  measured: number | undefined,
  required: number,
  threat: string | undefined,
  ctx: RateContext,
): GateCheck {
  const criterion = `${label}${ctx.lowerBound ? ' (95% lower bound)' : ''} ≥ ${pct(required)}`;
  const base = { id, criterion, required, ...(threat === undefined ? {} : { threat }), ...(ctx.rate ? { interval: ctx.rate } : {}) };
  if (measured === undefined) return { ...base, measured: null, passed: false, status: 'failed', message: `${label} was not measured` };
  const weaker = ctx.upperBound ? '; weaker evaluation: upper bound' : '';
  if (ctx.lowerBound) {
    if (!ctx.rate) {
      const message = `${label} ${pct(measured)} has no interval (results written without counts); rerun the evaluation to gate on its lower bound`;
      return { ...base, measured, passed: false, status: 'failed', message };
    }
    const passed = ctx.rate.lower + TOLERANCE >= required;
    const message = `${label} lower bound ${pct(ctx.rate.lower)} ${passed ? '≥' : '<'} ${pct(required)} (measured ${pct(measured)}, ${formatInterval(ctx.rate)}${weaker})`;
    return { ...base, measured, passed, status: passed ? 'passed' : 'failed', message };
  }
  const passed = measured + TOLERANCE >= required;
  const interval = ctx.rate ? ` (${formatInterval(ctx.rate)}${weaker})` : weaker ? ` (${weaker.slice(2)})` : '';
  return {
    ...base,
    measured,
    passed,
    status: passed ? 'passed' : 'failed',
    message: `${label} ${pct(measured)} ${passed ? '≥' : '<'} ${pct(required)}${interval}`,
  };
}

/** One check per threat whose masking checks ran: a `fail` fails the gate with the checks' explanations; a `warn` passes, shown. */
function maskingCheck(threat: string, summary: MaskingSummary): GateCheck {
  const failed = summary.checks.filter((c) => c.status === 'fail');
  const warned = summary.checks.filter((c) => c.status === 'warn');
  const base = {
    id: `masking:${threat}`,
    criterion: `no gradient-masking check fails (${threat})`,
    measured: failed.length,
    required: 0,
    threat,
  };
  const explain = (cs: MaskingSummary['checks']): string => cs.map((c) => `${c.id}: ${c.explanation}`).join(' ');
  if (failed.length > 0) {
    const message = `${failed.length} of ${summary.checks.length} gradient-masking checks failed at ${threat} on ${summary.examples} examples, so its robust accuracy cannot be trusted. ${explain(failed)}`;
    return { ...base, passed: false, status: 'failed', message };
  }
  const counts = `${summary.checks.length - warned.length} of ${summary.checks.length} gradient-masking checks passed at ${threat}`;
  if (warned.length === 0) return { ...base, passed: true, status: 'passed', message: counts };
  return {
    ...base,
    passed: true,
    status: 'passed',
    message: `${counts}; ${warned.length} warned: ${explain(warned)}`,
    warnings: warned.map((c) => `${c.id}: ${c.explanation}`),
  };
}

/**
 * The confirmed-attacks criterion: one check overall, one per threat (so a vulnerability's
 * threat has its own verdict) and, when several sets were measured, one per set (a text set
 * the filter still fails is not hidden behind an image set the model now resists).
 */
function adversarialSetChecks(required: number, candidate: EvaluationResults): GateCheck[] {
  const measured = candidate.adversarialSet;
  const ctx = { lowerBound: false };
  if (!measured || measured.n === 0) {
    const check = atLeast('adversarial-set', 'accuracy on confirmed attacks', undefined, required, undefined, ctx);
    return [{ ...check, message: `${check.message}: name reviewed sets in the plan's data.adversarial or text.adversarial` }];
  }
  const overall = atLeast('adversarial-set', `accuracy on ${measured.n} confirmed attacks`, measured.accuracy, required, undefined, ctx);
  const perThreat = Object.entries(measured.byThreat).map(([threat, r]) =>
    atLeast(`adversarial-set:${threat}`, `accuracy on confirmed attacks (${threat}, n=${r.n})`, r.accuracy, required, threat, ctx),
  );
  const sets = Object.entries(measured.bySet ?? {});
  const perSet =
    sets.length < 2
      ? []
      : sets.map(([digest, r]) =>
          atLeast(
            `adversarial-set@${digest.slice(0, 12)}`,
            `accuracy on ${r.channel} set '${r.name}' (n=${r.n})`,
            r.n === 0 ? undefined : r.accuracy,
            required,
            undefined,
            ctx,
          ),
        );
  return [overall, ...perThreat, ...perSet];
}

function atMost(id: string, label: string, measured: number | undefined, required: number, format: (v: number) => string): GateCheck {
  const criterion = `${label} ≤ ${format(required)}`;
  if (measured === undefined)
    return { id, criterion, required, measured: null, passed: false, status: 'failed', message: `${label} was not measured` };
  const passed = measured <= required + TOLERANCE;
  return {
    id,
    criterion,
    required,
    measured,
    passed,
    status: passed ? 'passed' : 'failed',
    message: `${label} ${format(measured)} ${passed ? '≤' : '>'} ${format(required)}`,
  };
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
export function evaluateGate(criteria: GateCriteria, candidate: EvaluationResults, production?: EvaluationResults): GateResult {
  const checks: GateCheck[] = [];
  const lowerBound = criteria.confidence === 'lower-bound';
  const rates = candidate.rates;
  if (criteria.cleanAccuracy !== undefined) {
    checks.push(
      atLeast('clean-accuracy', 'clean accuracy', candidate.cleanAccuracy, criteria.cleanAccuracy, undefined, {
        rate: rates?.clean,
        lowerBound,
      }),
    );
  }
  for (const [threat, required] of Object.entries(criteria.robustAccuracy ?? {})) {
    const ctx = { rate: rates?.robust[threat], lowerBound, upperBound: candidate.method?.upperBound === true };
    const check = atLeast(
      `robust-accuracy:${threat}`,
      `robust accuracy (${threat})`,
      candidate.robustAccuracy[threat],
      required,
      threat,
      ctx,
    );
    const why = candidate.unmeasured[threat];
    checks.push(check.measured === null && why ? { ...check, message: `${check.message}: ${why}` } : check);
  }
  for (const [threat, required] of Object.entries(criteria.certifiedAccuracy ?? {})) {
    const ctx = { rate: rates?.certified?.[threat], lowerBound };
    checks.push(
      atLeast(
        `certified-accuracy:${threat}`,
        `certified accuracy (${threat})`,
        candidate.certifiedAccuracy?.[threat],
        required,
        threat,
        ctx,
      ),
    );
  }
  if (criteria.masking !== false) {
    for (const [threat, summary] of Object.entries(candidate.masking ?? {})) checks.push(maskingCheck(threat, summary));
  }
  if (criteria.masking === true && candidate.masking === undefined) {
    const message = 'the gradient-masking checks did not run: turn on evaluation.masking in the plan';
    checks.push({
      id: 'masking',
      criterion: 'no gradient-masking check fails',
      measured: null,
      required: 0,
      passed: false,
      status: 'failed',
      message,
    });
  }
  if (criteria.adversarialSet !== undefined) checks.push(...adversarialSetChecks(criteria.adversarialSet.minAccuracy, candidate));
  if (criteria.ece !== undefined)
    checks.push(atMost('ece', 'expected calibration error', candidate.ece, criteria.ece, (v) => v.toFixed(4)));
  if (criteria.latencyP99Ms !== undefined)
    checks.push(atMost('latency-p99', 'latency p99', candidate.latencyP99Ms, criteria.latencyP99Ms, (v) => `${v.toFixed(2)} ms`));
  if (criteria.latencyUnderAttackP99Ms !== undefined) {
    const measured = candidate.latencyUnderAttackP99Ms;
    const required = criteria.latencyUnderAttackP99Ms;
    checks.push(atMost('latency-under-attack-p99', 'latency p99 on adversarial inputs', measured, required, (v) => `${v.toFixed(2)} ms`));
  }
  if (criteria.defendedStack !== undefined) {
    const required = criteria.defendedStack.minRobustAccuracy;
    const check = atLeast('defended-stack', 'defended-stack robust accuracy', candidate.defendedStackRobustAccuracy, required, undefined, {
      lowerBound: false,
    });
    const why = 'run evaluateDefendedStack (src/eval/adaptive) on the served stack';
    checks.push(check.measured === null ? { ...check, message: `${check.message}: ${why}` } : check);
  }
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
      const pairs: [string, string, number, number | undefined, string | undefined][] = [
        ['regression:clean-accuracy', 'clean accuracy', production.cleanAccuracy, candidate.cleanAccuracy, undefined],
      ];
      // In the candidate's (the plan's) order; production results may come back with sorted keys.
      for (const [threat, value] of Object.entries(candidate.robustAccuracy)) {
        const before = production.robustAccuracy[threat];
        if (before !== undefined)
          pairs.push([`regression:robust-accuracy:${threat}`, `robust accuracy (${threat})`, before, value, threat]);
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

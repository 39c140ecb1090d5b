/**
 * Robust accuracy per named threat model: the plan's (or the caller's) threats keep their
 * ids from input to result. Threats are grouped by norm so each norm is one report and one
 * accuracy-vs-epsilon curve; under each, the suite (when given) and the extra attacks run,
 * and a threat's robust accuracy is the per-example worst case over both: an example
 * counts as robust only if it is classified correctly and nothing broke it.
 */
import { UsageError } from '../core/errors.js';
import type { Dataset } from '../core/types.js';
import type { Executor } from '../execution/index.js';
import type { Classifier } from '../models/classifier.js';
import { accuracyOf, predictClasses } from '../models/predict.js';
import type { NormId, ThreatNormId } from '../threats/norms.js';
import { threatModel, type ThreatModel } from '../threats/threat-model.js';
import { rateOf, type Rate } from './rate.js';
import { isStochastic } from './stochastic.js';
import { evaluateRobustness, type AttackSpec, type EvalAttack, type RobustnessReport } from './robustness.js';
import { attacksForThreat, suiteFitsThreat } from './attacks-for-threat.js';
import { runSuite, type SuiteDefinition, type SuiteReport } from './suite.js';

export interface ThreatEvaluationOptions {
  model: Classifier;
  data: Dataset;
  /** The named threats to measure; ids must be unique. */
  threats: readonly ThreatModel[];
  /** Attacks run on top of the suite (or alone without one); the worst case per example counts. */
  attacks: readonly AttackSpec[];
  /** The suite every threat is evaluated with; without one, each number is an upper bound from weaker attacks. */
  suite?: SuiteDefinition;
  /**
   * The adversary's own model, for `transfer` threats (see attacksForThreat). Threats that are not
   * white-box, untargeted L∞/L2 ones are evaluated with the attacks their technique and norm select.
   */
  surrogate?: Classifier;
  /** Extra budgets per norm for the curves, measured with `attacks` (the suite when there are none). */
  curve?: Partial<Record<NormId, readonly number[]>>;
  batchSize?: number;
  seed?: number;
  pool?: Executor;
  onProgress?: (done: number, total: number, label: string) => void;
}

export interface ThreatResult {
  threat: string;
  norm: ThreatNormId;
  epsilon: number;
  /** How the threat was evaluated, when not by the plan's white-box attacks (technique, goal, surrogate). */
  note?: string;
  /**
   * A targeted threat: the share of attacked examples (clean-correct, not already of the target class)
   * that the attacks moved to the target class, with its 95% interval.
   */
  targetedSuccess?: Rate & { target: number };
  /** The per-example worst case over the suite and the attacks, with its 95% interval. */
  robust: Rate;
  /** Each source on its own, for the report: what the suite and the extra attacks measured. */
  sources: { suite?: Rate; attacks?: Rate };
}

export interface ThreatEvaluation {
  clean: Rate;
  /** In the order the threats were given. */
  threats: ThreatResult[];
  /** Per norm: robust accuracy at ε = 0, every threat's ε and every curve budget. */
  curves: { norm: ThreatNormId; points: { epsilon: number; robustAccuracy: number }[] }[];
  reports: RobustnessReport[];
  suites: SuiteReport[];
}

/** Unnamed curve budgets get ids that no plan threat can take. */
const curveThreat = (norm: NormId, epsilon: number, model: Classifier): ThreatModel =>
  threatModel({ id: `curve:${norm}-${epsilon}`, norm, epsilon, bounds: model.bounds });

/**
 * Evaluates named threats with the suite and extra attacks.
 *
 * @throws UsageError `E_NO_ATTACKS` when there is neither a suite nor an attack; whatever
 *   evaluateRobustness and runSuite throw (bad attack specs, data that does not fit the model).
 * @example
 * const r = await evaluateThreats({ model, data, threats: [threatModel({ id: 'linf-0.3', norm: 'linf', epsilon: 0.3 })],
 *   attacks: [], suite: suiteDefinition('standard', 'quick') });
 * r.threats[0].robust // { count, n, value, lower, upper }
 */
export async function evaluateThreats(options: ThreatEvaluationOptions): Promise<ThreatEvaluation> {
  const { model, data, suite } = options;
  if (!suite && options.attacks.length === 0)
    throw new UsageError('E_NO_ATTACKS', 'Give a suite or at least one attack to evaluate with, e.g. the standard suite or pgd.');
  // A randomised model scored by single-pass attacks and predictions looks more robust than it is.
  if (suite?.variant !== 'rand' && (await isStochastic(model, data))) {
    throw new UsageError(
      'E_STOCHASTIC_MODEL',
      `Model '${model.id}' answers differently for the same input (a randomised defence), so a deterministic ` +
        `evaluation (${suite ? `suite ${suite.id}:${suite.variant}` : 'no suite'}) would overstate its robustness; ` +
        'evaluate it with the suite standard:rand (expectation over transformation).',
      { details: { model: model.id, suite: suite ? `${suite.id}:${suite.variant}` : 'none' } },
    );
  }
  const standard = options.threats.filter(suiteFitsThreat);
  const norms = [...new Set(standard.map((t) => t.norm))];
  const plan: Group[] = norms.map((norm) => {
    const named = standard.filter((t) => t.norm === norm);
    const extra = [0, ...(options.curve?.[norm as NormId] ?? [])].filter((e) => !named.some((t) => t.epsilon === e));
    const curve = [...new Set(extra)].map((e) => curveThreat(norm as NormId, e, model));
    return { norm, named, curve, attacks: options.attacks, ...(suite ? { suite } : {}) };
  });
  // Every other threat (another technique, a targeted goal, a sparse norm) gets the attacks its adversary has.
  const notes = new Map<string, string>();
  for (const t of options.threats.filter((x) => !suiteFitsThreat(x))) {
    const chosen = attacksForThreat(t, { gradient: options.attacks, ...(options.surrogate ? { surrogate: options.surrogate } : {}) });
    notes.set(t.id, chosen.note);
    plan.push({ norm: t.norm, named: [t], curve: [], attacks: chosen.attacks });
  }
  const work = plan.map((p) => {
    const withAttacks = p.attacks.length > 0;
    return (withAttacks ? p.named.length + p.curve.length : 0) + (p.suite ? p.named.length + (withAttacks ? 0 : p.curve.length) : 0);
  });
  const total = Math.max(
    1,
    work.reduce((a, b) => a + b, 0),
  );
  let before = 0;
  const reports: RobustnessReport[] = [];
  const suites: SuiteReport[] = [];
  const common = {
    model,
    data,
    ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
    seed: options.seed ?? 0,
    ...(options.pool ? { pool: options.pool } : {}),
  };
  const results = new Map<string, ThreatResult>();
  const curves: ThreatEvaluation['curves'] = [];
  for (const { norm, named, curve, attacks, suite } of plan) {
    const withAttacks = attacks.length > 0;
    const byAttacks = withAttacks ? [...named, ...curve] : [];
    const bySuite = suite ? (withAttacks ? named : [...named, ...curve]) : [];
    let report: RobustnessReport | undefined;
    let suiteReport: SuiteReport | undefined;
    if (byAttacks.length > 0) {
      const offset = before;
      report = await evaluateRobustness({
        ...common,
        threats: byAttacks,
        attacks,
        onProgress: (p) =>
          options.onProgress?.(
            offset + (byAttacks.length * p.done) / Math.max(1, p.total),
            total,
            p.attack ? `${p.attack} ${norm} ε=${p.epsilon}` : `${norm} clean`,
          ),
      });
      reports.push(report);
      before += byAttacks.length;
    }
    if (suite && bySuite.length > 0) {
      const offset = before;
      const share = bySuite.length;
      const sorted = [...bySuite].sort((x, y) => x.epsilon - y.epsilon);
      suiteReport = await runSuite({
        ...common,
        threats: bySuite,
        suite,
        onProgress: (p) => {
          // Threats run in epsilon order and stages in suite order: progress counts both, so it never runs backwards.
          const e = Math.max(
            0,
            sorted.findIndex((t) => t.epsilon === p.epsilon),
          );
          const stage = Math.max(
            0,
            suite.stages.findIndex((st) => st.id === p.stage),
          );
          const fraction = (e * suite.stages.length + stage + Math.min(1, p.done / Math.max(1, p.total))) / (share * suite.stages.length);
          options.onProgress?.(offset + share * fraction, total, `suite ${p.stage} ${norm} ε=${p.epsilon}`);
        },
      });
      suites.push(suiteReport);
      before += share;
    }
    const points: { epsilon: number; robustAccuracy: number }[] = [];
    for (const t of [...named, ...curve].sort((a, b) => a.epsilon - b.epsilon)) {
      const result = worstCaseOf(t, data.count, report, suiteReport);
      const note = notes.get(t.id);
      if (named.includes(t)) results.set(t.id, note ? { ...result, note } : result);
      if (!points.some((p) => p.epsilon === t.epsilon)) points.push({ epsilon: t.epsilon, robustAccuracy: result.robust.value });
    }
    // A threat evaluated on its own (no curve budgets) adds no curve of its own.
    if (!notes.has(named[0]?.id ?? '')) curves.push({ norm, points });
  }
  const first = reports[0]?.clean ?? suites[0]?.clean;
  const clean = first
    ? rateOf(first.correct, first.count)
    : rateOf(accuracyCount(await predictClasses(model, data, options.batchSize ?? 256), data.y), data.count);
  options.onProgress?.(total, total, 'done');
  return { clean, threats: options.threats.map((t) => results.get(t.id) as ThreatResult), curves, reports, suites };
}

interface Group {
  norm: ThreatNormId;
  named: ThreatModel[];
  curve: ThreatModel[];
  attacks: readonly EvalAttack[];
  suite?: SuiteDefinition;
}

function accuracyCount(predicted: Int32Array, labels: Int32Array): number {
  return Math.round(accuracyOf(predicted, labels) * labels.length);
}

/** The rows each source left robust, intersected: the per-example worst case. */
function worstCaseOf(threat: ThreatModel, n: number, report: RobustnessReport | undefined, suite: SuiteReport | undefined): ThreatResult {
  const fromAttacks = report?.worstCase.find((w) => w.threat === threat.id);
  const fromSuite = suite?.results.find((r) => r.threat === threat.id);
  const attackRows = fromAttacks ? new Set(fromAttacks.robustRows) : undefined;
  const suiteRows = fromSuite ? new Set(fromSuite.examples.flatMap((e, row) => (e.outcome === 'robust' ? [row] : []))) : undefined;
  let robust: number;
  if (attackRows && suiteRows) robust = [...attackRows].filter((r) => suiteRows.has(r)).length;
  else robust = (attackRows ?? suiteRows ?? new Set()).size;
  const targeted = fromAttacks?.targeted;
  return {
    threat: threat.id,
    norm: threat.norm,
    epsilon: threat.epsilon,
    robust: rateOf(robust, n),
    ...(targeted ? { targetedSuccess: { ...rateOf(targeted.succeeded, targeted.attacked), target: targeted.target } } : {}),
    sources: { ...(suiteRows ? { suite: rateOf(suiteRows.size, n) } : {}), ...(attackRows ? { attacks: rateOf(attackRows.size, n) } : {}) },
  };
}

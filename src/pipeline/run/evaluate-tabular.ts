/**
 * Evaluating the tabular channel's model: every tabular threat with the section's L∞/L2
 * attacks in the features' own units, inside the data's bounds (the per-example worst case
 * counts), plus clean accuracy, calibration and latency p99 on the same rows. Each rate
 * carries its n and 95% interval. Feature constraints (immutable, integer, one-hot) are not
 * applied yet: every feature may move within the budget.
 */
import type { Bounds, Dataset } from '../../core/types.js';
import type { WorkerPool } from '../../execution/pool/index.js';
import { calibrationFromLogits, datasetLogits } from '../../eval/calibration.js';
import { measureLatency } from '../../eval/latency.js';
import { rateOf, type Rate } from '../../eval/rate.js';
import type { ReliabilityBin } from '../../eval/results.js';
import type { RobustnessReport } from '../../eval/robustness.js';
import { evaluateThreats } from '../../eval/threat-evaluation.js';
import type { Classifier } from '../../models/classifier.js';
import { threatModel } from '../../threats/threat-model.js';
import type { Plan, TabularThreatScenario } from '../plan/schema.js';
import { requireTabularSection } from '../plan/channels.js';

export interface TabularEvaluation {
  clean: Rate;
  /** Per tabular threat id. */
  robust: Record<string, Rate>;
  ece: number;
  reliability: ReliabilityBin[];
  latencyP99Ms: number;
  reports: RobustnessReport[];
}

/** The classifier with the data's bounds: attacks and their checks keep inputs inside the box the data spans. */
export function withBounds(model: Classifier, bounds: Bounds): Classifier {
  const queryScores = model.queryScores?.bind(model);
  return {
    id: model.id,
    inputShape: model.inputShape,
    numClasses: model.numClasses,
    bounds,
    differentiable: model.differentiable,
    ...(model.access === undefined ? {} : { access: model.access }),
    logits: (x) => model.logits(x),
    ...(queryScores ? { queryScores } : {}),
  };
}

/**
 * @throws UsageError for a bad attack spec; InputError `E_INPUT_SHAPE` when the rows do not fit the model.
 * @example const tab = await evaluateTabular({ plan, model, data: testRows });
 */
export async function evaluateTabular(options: {
  plan: Plan;
  model: Classifier;
  data: Dataset;
  pool?: WorkerPool;
  onProgress?: (done: number, total: number, label: string) => void;
}): Promise<TabularEvaluation> {
  const { plan, data } = options;
  const section = requireTabularSection(plan);
  const model = withBounds(options.model, data.bounds);
  const threats = plan.threats
    .filter((t): t is TabularThreatScenario => t.channel === 'tabular')
    .map((t) => threatModel({ id: t.id, norm: t.norm, epsilon: t.epsilon, bounds: data.bounds }));
  const logits = await datasetLogits(model, data, section.batchSize);
  const calibration = calibrationFromLogits(logits, data.y, model.numClasses, { bins: plan.evaluation.calibrationBins });
  let clean = rateOf(Math.round(calibration.accuracy * data.count), data.count);
  const robust: Record<string, Rate> = {};
  let reports: RobustnessReport[] = [];
  if (threats.length > 0) {
    const measured = await evaluateThreats({
      model,
      data,
      threats,
      attacks: section.attacks,
      batchSize: section.batchSize,
      seed: plan.seed,
      ...(options.pool ? { pool: options.pool } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
    clean = measured.clean;
    for (const t of measured.threats) robust[t.threat] = t.robust;
    reports = measured.reports;
  }
  const latency = await measureLatency({ model, data, batchSizes: [1], repeats: plan.evaluation.latencySamples, warmup: 10 });
  return {
    clean,
    robust,
    ece: calibration.ece,
    reliability: calibration.reliability.map((b) => ({
      lower: b.lower,
      upper: b.upper,
      count: b.count,
      confidence: b.meanConfidence,
      accuracy: b.accuracy,
    })),
    latencyP99Ms: latency.series[0]?.stats[0]?.p99Ms ?? 0,
    reports,
  };
}

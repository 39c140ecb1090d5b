/**
 * Evaluating one model against a plan: robustness per image threat (the worst case over
 * the plan's attacks, and the standard suite when the plan asks for it, grouped by norm so
 * each norm is one curve), calibration, latency p99, and a few adversarial examples for
 * the report. Threats this pipeline cannot measure yet are
 * listed with the reason, so the gate fails them visibly instead of passing them silently.
 */
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { writeJsonFile } from '../../core/files.js';
import { batchTensor } from '../../core/tensors.js';
import { sizeOf, type Dataset } from '../../core/types.js';
import { hashDataset } from '../../data/hash.js';
import { takeFirst } from '../../data/index.js';
import type { WorkerPool } from '../../execution/pool/index.js';
import { createAttack } from '../../attacks/registry.js';
import { calibrationFromLogits, datasetLogits } from '../../eval/calibration.js';
import { measureLatency } from '../../eval/latency.js';
import { evaluateRobustness, type RobustnessReport } from '../../eval/robustness.js';
import { runSuite, suiteDefinition, type SuiteReport } from '../../eval/suite.js';
import type { Classifier } from '../../models/classifier.js';
import { accuracyOf, predictClasses } from '../../models/predict.js';
import type { NormId } from '../../threats/norms.js';
import { threatModel } from '../../threats/threat-model.js';
import type { ImageThreatScenario, Plan } from '../plan/schema.js';
import type { EvaluationResults } from './results.js';

export interface AdversarialExample {
  label: number;
  cleanPrediction: number;
  adversarialPrediction: number;
  /** Row-major pixels in the data's bounds, rounded to 4 decimals. */
  clean: number[];
  adversarial: number[];
}

export interface AdversarialExampleSet {
  model: string;
  threat: string;
  attack: string;
  shape: number[];
  bounds: { min: number; max: number };
  items: AdversarialExample[];
}

export interface ModelEvaluation {
  results: EvaluationResults;
  reports: RobustnessReport[];
  suites: SuiteReport[];
  examples?: AdversarialExampleSet;
}

export interface EvaluateModelOptions {
  plan: Plan;
  model: Classifier;
  /** Registry-style name and the digest of the model's files. */
  name: string;
  sha256: string;
  data: Dataset;
  pool?: WorkerPool;
  /** The temperature the model ships with; ECE is measured with it. Default 1. */
  temperature?: number;
  /** Certified accuracy per threat id, from the certification stage. */
  certifiedAccuracy?: Record<string, number>;
  onProgress?: (done: number, total: number, label: string) => void;
}

function round4(values: ArrayLike<number>): number[] {
  return Array.from(values, (v) => Math.round(v * 10_000) / 10_000);
}

/** PGD (or the plan's first attack) at the strongest L∞ threat on the first `count` examples. */
async function adversarialExamples(options: EvaluateModelOptions, threats: ImageThreatScenario[], count: number): Promise<AdversarialExampleSet | undefined> {
  if (count === 0 || threats.length === 0) return undefined;
  const { model, plan } = options;
  const linf = threats.filter((t) => t.norm === 'linf');
  const threat = [...(linf.length > 0 ? linf : threats)].sort((a, b) => b.epsilon - a.epsilon)[0] as ImageThreatScenario;
  const spec = plan.evaluation.attacks.find((a) => a.id === 'pgd') ?? plan.evaluation.attacks[0];
  if (!spec) return undefined;
  const data = takeFirst(options.data, Math.min(count, options.data.count));
  const x = batchTensor(data, 0, data.count);
  const attack = createAttack(spec.id, spec.options ?? {});
  const result = await attack.run(model, x, data.y, threatModel({ norm: threat.norm, epsilon: threat.epsilon, bounds: model.bounds }), { seed: plan.seed });
  try {
    const [clean, adv] = tf.tidy(() => [tf.argMax(model.logits(x), 1), tf.argMax(model.logits(result.adversarial), 1)]);
    const cleanPred = (await (clean as tf.Tensor).data()) as Int32Array;
    const advPred = (await (adv as tf.Tensor).data()) as Int32Array;
    const advPixels = (await result.adversarial.data()) as Float32Array;
    tf.dispose([clean as tf.Tensor, adv as tf.Tensor]);
    const size = sizeOf(data.shape);
    const items: AdversarialExample[] = [];
    for (let i = 0; i < data.count; i++) {
      items.push({
        label: data.y[i] as number,
        cleanPrediction: cleanPred[i] as number,
        adversarialPrediction: advPred[i] as number,
        clean: round4(data.x.subarray(i * size, (i + 1) * size)),
        adversarial: round4(advPixels.subarray(i * size, (i + 1) * size)),
      });
    }
    return { model: options.name, threat: threat.id, attack: attack.id, shape: [...data.shape], bounds: model.bounds, items };
  } finally {
    result.adversarial.dispose();
    x.dispose();
  }
}

/**
 * Evaluates a model on every image threat of the plan.
 *
 * @throws UsageError for a bad attack spec in the plan; InputError when the data does not fit the model.
 * @example const { results } = await evaluateModel({ plan, model, name: 'hardened', sha256, data: test });
 */
export async function evaluateModel(options: EvaluateModelOptions): Promise<ModelEvaluation> {
  const { plan, model, data } = options;
  const image = plan.threats.filter((t): t is ImageThreatScenario => t.channel === 'image');
  const unmeasured: Record<string, string> = {};
  for (const t of plan.threats) {
    if (t.channel === 'text') unmeasured[t.id] = 'text threats need a text model: add a text section to the plan';
    if (t.channel === 'tabular') unmeasured[t.id] = 'tabular threats are not evaluated by the pipeline yet';
  }
  const norms = [...new Set(image.map((t) => t.norm))] as NormId[];
  const epsilonsOf = (norm: NormId): number[] =>
    [...new Set([0, ...image.filter((t) => t.norm === norm).map((t) => t.epsilon), ...(plan.evaluation.curve?.[norm] ?? [])])].sort((a, b) => a - b);
  const weights = norms.map((n) => epsilonsOf(n).length - 1);
  const totalWeight = Math.max(1, weights.reduce((a, b) => a + b, 0) + 1);
  const reports: RobustnessReport[] = [];
  const suites: SuiteReport[] = [];
  const suite = plan.evaluation.suite ? suiteDefinition('standard', plan.evaluation.suite === 'quick' ? 'quick' : 'full') : undefined;
  let before = 0;
  for (const [i, norm] of norms.entries()) {
    const weight = weights[i] as number;
    const offset = before;
    reports.push(
      await evaluateRobustness({
        model,
        data,
        norm,
        epsilons: epsilonsOf(norm),
        attacks: plan.evaluation.attacks,
        batchSize: plan.evaluation.batchSize,
        seed: plan.seed,
        ...(options.pool ? { pool: options.pool } : {}),
        onProgress: (p) => options.onProgress?.(offset + (weight * p.done) / Math.max(1, p.total), totalWeight, p.attack ? `${p.attack} ${norm} ε=${p.epsilon}` : `${norm} clean`),
      }),
    );
    if (suite) {
      suites.push(
        await runSuite({
          model,
          data,
          norm,
          epsilons: epsilonsOf(norm).filter((e) => e > 0),
          suite,
          batchSize: plan.evaluation.batchSize,
          seed: plan.seed,
          ...(options.pool ? { pool: options.pool } : {}),
          onProgress: (p) => options.onProgress?.(offset + weight, totalWeight, `suite ${p.stage} ${norm} ε=${p.epsilon}`),
        }),
      );
    }
    before += weight;
  }
  // Each measurement is an upper bound on the true robust accuracy; with the suite, keep the tighter one.
  const robustAt = (norm: string, epsilon: number): number | undefined => {
    const fromAttacks = reports.find((r) => r.config.norm === norm)?.worstCase.find((w) => w.epsilon === epsilon)?.robustAccuracy;
    const fromSuite = suites.find((r) => r.config.norm === norm)?.results.find((r) => r.epsilon === epsilon)?.robustAccuracy;
    return fromAttacks === undefined ? fromSuite : fromSuite === undefined ? fromAttacks : Math.min(fromAttacks, fromSuite);
  };
  const robustAccuracy: Record<string, number> = {};
  for (const t of image) {
    const value = robustAt(t.norm, t.epsilon);
    if (value !== undefined) robustAccuracy[t.id] = value;
  }
  options.onProgress?.(totalWeight - 1, totalWeight, 'calibration, latency and examples');
  const cleanAccuracy = reports[0]?.clean.accuracy ?? (await cleanOnly(model, data));
  const temperature = options.temperature ?? 1;
  const calibration = calibrationFromLogits(await datasetLogits(model, data, plan.evaluation.batchSize), data.y, model.numClasses, { bins: plan.evaluation.calibrationBins, temperature });
  const latencyReport = await measureLatency({ model, data, batchSizes: [1], repeats: plan.evaluation.latencySamples, warmup: 10 });
  const latency = latencyReport.series[0]?.stats[0]?.p99Ms ?? 0;
  const examples = await adversarialExamples(options, image, plan.evaluation.examples);
  options.onProgress?.(totalWeight, totalWeight, 'done');
  const results: EvaluationResults = {
    kind: 'rampart.evaluation-results',
    schemaVersion: 1,
    model: { name: options.name, sha256: options.sha256 },
    data: { name: data.name, sha256: hashDataset(data), count: data.count },
    cleanAccuracy,
    robustAccuracy,
    ece: calibration.ece,
    temperature,
    reliability: calibration.reliability.map((b) => ({ lower: b.lower, upper: b.upper, count: b.count, confidence: b.meanConfidence, accuracy: b.accuracy })),
    latencyP99Ms: latency,
    ...(options.certifiedAccuracy ? { certifiedAccuracy: options.certifiedAccuracy } : {}),
    curves: reports.map((r) => ({ norm: r.config.norm, points: r.worstCase.map((w) => ({ epsilon: w.epsilon, robustAccuracy: robustAt(r.config.norm, w.epsilon) ?? w.robustAccuracy })) })),
    unmeasured,
  };
  return { results, reports, suites, ...(examples ? { examples } : {}) };
}

async function cleanOnly(model: Classifier, data: Dataset): Promise<number> {
  return accuracyOf(await predictClasses(model, data), data.y);
}

/** Writes an evaluation's files into `dir`: results.json, robustness-<norm>.json, suite-<norm>.json, examples.json. */
export async function writeModelEvaluation(dir: string, evaluation: ModelEvaluation): Promise<{ results: string; reports: string[]; examples?: string }> {
  const results = join(dir, 'results.json');
  await writeJsonFile(results, evaluation.results);
  const reports: string[] = [];
  for (const report of evaluation.reports) {
    const path = join(dir, `robustness-${report.config.norm}.json`);
    await writeJsonFile(path, report);
    reports.push(path);
  }
  for (const report of evaluation.suites) {
    const path = join(dir, `suite-${report.config.norm}.json`);
    await writeJsonFile(path, report);
    reports.push(path);
  }
  let examples: string | undefined;
  if (evaluation.examples) {
    examples = join(dir, 'examples.json');
    await writeJsonFile(examples, evaluation.examples);
  }
  return { results, reports, ...(examples ? { examples } : {}) };
}

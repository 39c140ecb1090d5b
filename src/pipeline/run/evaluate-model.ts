/**
 * Evaluating one model against a plan: robustness per image threat (the worst case over
 * the plan's attacks, grouped by norm so each norm is one curve), latency p99, and a few
 * adversarial examples for the report. Threats this pipeline cannot measure yet are
 * listed with the reason, so the gate fails them visibly instead of passing them silently.
 */
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { writeJsonFile } from '../../core/files.js';
import { batchTensor } from '../../core/tensors.js';
import { sizeOf, type Dataset } from '../../core/types.js';
import { hashDataset } from '../../data/hash.js';
import { takeFirst } from '../../data/index.js';
import type { WorkerPool } from '../../engine/pool/index.js';
import { createAttack } from '../../attacks/registry.js';
import { evaluateRobustness, type RobustnessReport } from '../../eval/robustness.js';
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
  onProgress?: (done: number, total: number, label: string) => void;
}

/** Single-example prediction latency, p99 over `samples` timed calls after a warm-up. */
export async function latencyP99(model: Classifier, data: Dataset, samples: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < samples + 10; i++) {
    const row = i % data.count;
    const started = performance.now();
    const predicted = tf.tidy(() => tf.argMax(model.logits(batchTensor(data, row, row + 1)), 1));
    await predicted.data();
    predicted.dispose();
    if (i >= 10) times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return times[Math.max(0, Math.ceil(0.99 * times.length) - 1)] ?? 0;
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
    if (t.channel === 'text') unmeasured[t.id] = 'text threats need a text model; this plan trains an image model';
    if (t.channel === 'tabular') unmeasured[t.id] = 'tabular threats are not evaluated by the pipeline yet';
  }
  const norms = [...new Set(image.map((t) => t.norm))] as NormId[];
  const epsilonsOf = (norm: NormId): number[] =>
    [...new Set([0, ...image.filter((t) => t.norm === norm).map((t) => t.epsilon), ...(plan.evaluation.curve?.[norm] ?? [])])].sort((a, b) => a - b);
  const weights = norms.map((n) => epsilonsOf(n).length - 1);
  const totalWeight = Math.max(1, weights.reduce((a, b) => a + b, 0) + 1);
  const reports: RobustnessReport[] = [];
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
    before += weight;
  }
  const robustAccuracy: Record<string, number> = {};
  for (const t of image) {
    const report = reports.find((r) => r.config.norm === t.norm);
    const point = report?.worstCase.find((w) => w.epsilon === t.epsilon);
    if (point) robustAccuracy[t.id] = point.robustAccuracy;
  }
  options.onProgress?.(totalWeight - 1, totalWeight, 'latency and examples');
  const cleanAccuracy = reports[0]?.clean.accuracy ?? (await cleanOnly(model, data));
  const latency = await latencyP99(model, data, plan.evaluation.latencySamples);
  const examples = await adversarialExamples(options, image, plan.evaluation.examples);
  options.onProgress?.(totalWeight, totalWeight, 'done');
  const results: EvaluationResults = {
    kind: 'rampart.evaluation-results',
    schemaVersion: 1,
    model: { name: options.name, sha256: options.sha256 },
    data: { name: data.name, sha256: hashDataset(data), count: data.count },
    cleanAccuracy,
    robustAccuracy,
    latencyP99Ms: latency,
    curves: reports.map((r) => ({ norm: r.config.norm, points: r.worstCase.map((w) => ({ epsilon: w.epsilon, robustAccuracy: w.robustAccuracy })) })),
    unmeasured,
  };
  return { results, reports, ...(examples ? { examples } : {}) };
}

async function cleanOnly(model: Classifier, data: Dataset): Promise<number> {
  return accuracyOf(await predictClasses(model, data), data.y);
}

/** Writes an evaluation's files into `dir`: results.json, robustness-<norm>.json, examples.json. */
export async function writeModelEvaluation(dir: string, evaluation: ModelEvaluation): Promise<{ results: string; reports: string[]; examples?: string }> {
  const results = join(dir, 'results.json');
  await writeJsonFile(results, evaluation.results);
  const reports: string[] = [];
  for (const report of evaluation.reports) {
    const path = join(dir, `robustness-${report.config.norm}.json`);
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

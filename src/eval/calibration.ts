/**
 * Calibration: does a model's confidence mean what it says? Expected calibration error
 * with equal-width and equal-mass bins ("On Calibration of Modern Neural Networks", Guo,
 * Pleiss, Sun, Weinberger, ICML 2017, https://arxiv.org/abs/1706.04599; equal-mass bins as
 * in Nixon et al. 2019, "Measuring Calibration in Deep Learning"), maximum calibration
 * error, Brier score, negative log-likelihood and reliability-diagram data — on clean
 * inputs and on adversarial ones, where overconfident wrong answers are the usual failure.
 *
 * Confidence is the top-class probability; "accuracy" in a bin is how often that top
 * class is the label. Everything is computed in float64 JavaScript on logits read back
 * from the model, so the numbers do not depend on the backend's softmax.
 */
import * as tf from '@tensorflow/tfjs';
import { InputError, UsageError } from '../core/errors.js';
import { batchTensor, ranges } from '../core/tensors.js';
import type { Dataset } from '../core/types.js';
import { assertBatchShape, type Classifier } from '../models/classifier.js';
import { scoresOf } from '../models/predict.js';
import type { Attack } from '../attacks/types.js';
import type { ThreatModel } from '../threats/threat-model.js';
import type { Metric } from './metrics.js';

export interface ReliabilityBin {
  /** Confidence range of the bin, [lower, upper] (equal-width) or the observed range (equal-mass). */
  lower: number;
  upper: number;
  count: number;
  /** Mean top-class probability in the bin (0 when empty). */
  meanConfidence: number;
  /** Fraction of the bin whose top class is the label (0 when empty). */
  accuracy: number;
}

export interface CalibrationMetrics {
  count: number;
  accuracy: number;
  meanConfidence: number;
  /** Expected calibration error, equal-width bins over [0, 1]. */
  ece: number;
  /** Expected calibration error, bins of (nearly) equal example counts. */
  eceEqualMass: number;
  /** Maximum calibration error over non-empty equal-width bins. */
  mce: number;
  /** Multi-class Brier score: mean squared distance of the probability vector to the one-hot label, in [0, 2]. */
  brier: number;
  /** Mean negative log-likelihood of the label, in nats. */
  nll: number;
  bins: number;
  reliability: ReliabilityBin[];
  reliabilityEqualMass: ReliabilityBin[];
}

export interface CalibrationOptions {
  /** Number of bins for ECE/MCE and the reliability diagrams; default 15 (Guo et al.). */
  bins?: number;
}

/** Per-example values everything else is computed from. */
interface Summary {
  confidence: number[];
  correct: number[];
  brier: number;
  nll: number;
}

function checkBins(bins: number | undefined): number {
  const b = bins ?? 15;
  if (!Number.isInteger(b) || b < 1)
    throw new UsageError('E_CALIBRATION_OPTION', `Calibration option 'bins' must be a whole number >= 1, e.g. 15; got ${String(bins)}.`, {
      details: { option: 'bins', value: bins },
    });
  return b;
}

function checkRows(values: ArrayLike<number>, labels: Int32Array, numClasses: number, what: string): void {
  if (!Number.isInteger(numClasses) || numClasses < 2)
    throw new UsageError('E_CALIBRATION_OPTION', `numClasses must be a whole number >= 2; got ${numClasses}.`);
  if (values.length !== labels.length * numClasses) {
    throw new InputError(
      'E_CALIBRATION_INPUT',
      `Got ${values.length} ${what} for ${labels.length} labels and ${numClasses} classes; give labels.length * numClasses values, row-major.`,
      {
        details: { values: values.length, labels: labels.length, numClasses },
      },
    );
  }
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i] as number;
    if (!Number.isInteger(y) || y < 0 || y >= numClasses)
      throw new InputError('E_LABEL_RANGE', `Label ${i} is ${y}; valid classes are 0..${numClasses - 1}.`, {
        details: { index: i, value: y },
      });
  }
}

/** Accumulates per-example confidence, correctness, Brier and NLL from log-probabilities. */
function summarise(logProb: (row: number, c: number) => number, labels: Int32Array, numClasses: number, into: Summary): void {
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i] as number;
    let top = 0;
    let topLog = -Infinity;
    let brier = 0;
    for (let c = 0; c < numClasses; c++) {
      const lp = logProb(i, c);
      if (lp > topLog) {
        topLog = lp;
        top = c;
      }
      const p = Math.exp(lp);
      brier += (p - (c === y ? 1 : 0)) ** 2;
    }
    into.confidence.push(Math.exp(topLog));
    into.correct.push(top === y ? 1 : 0);
    into.brier += brier;
    // A probability of exactly 0 would make NLL infinite; 1e-12 caps one example's cost at ~27.6 nats.
    into.nll += -Math.max(logProb(i, y), Math.log(1e-12));
  }
}

/** Row-wise log-softmax in float64. */
function logSoftmaxRows(logits: ArrayLike<number>, numClasses: number, temperature = 1): (row: number, c: number) => number {
  const rows = logits.length / numClasses;
  const logNorm = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let max = -Infinity;
    for (let c = 0; c < numClasses; c++) max = Math.max(max, (logits[i * numClasses + c] as number) / temperature);
    let sum = 0;
    for (let c = 0; c < numClasses; c++) sum += Math.exp((logits[i * numClasses + c] as number) / temperature - max);
    logNorm[i] = max + Math.log(sum);
  }
  return (row, c) => (logits[row * numClasses + c] as number) / temperature - (logNorm[row] as number);
}

function binStats(confidence: number[], correct: number[], indices: number[], lower: number, upper: number): ReliabilityBin {
  let conf = 0;
  let acc = 0;
  for (const i of indices) {
    conf += confidence[i] as number;
    acc += correct[i] as number;
  }
  const n = indices.length;
  return { lower, upper, count: n, meanConfidence: n === 0 ? 0 : conf / n, accuracy: n === 0 ? 0 : acc / n };
}

function finish(s: Summary, bins: number): CalibrationMetrics {
  const n = s.confidence.length;
  const widthGroups: number[][] = Array.from({ length: bins }, () => []);
  s.confidence.forEach((c, i) => {
    // The top bin is closed so that confidence 1 lands in it.
    widthGroups[Math.min(bins - 1, Math.floor(c * bins))]?.push(i);
  });
  const reliability = widthGroups.map((g, b) => binStats(s.confidence, s.correct, g, b / bins, (b + 1) / bins));
  const order = s.confidence.map((_, i) => i).sort((a, b) => (s.confidence[a] as number) - (s.confidence[b] as number));
  const massGroups: number[][] = [];
  for (let b = 0; b < bins; b++) massGroups.push(order.slice(Math.floor((b * n) / bins), Math.floor(((b + 1) * n) / bins)));
  const reliabilityEqualMass = massGroups
    .filter((g) => g.length > 0)
    .map((g) =>
      binStats(s.confidence, s.correct, g, s.confidence[g[0] as number] as number, s.confidence[g[g.length - 1] as number] as number),
    );
  const gap = (r: ReliabilityBin) => Math.abs(r.accuracy - r.meanConfidence);
  const ece = (rs: ReliabilityBin[]) => (n === 0 ? 0 : rs.reduce((sum, r) => sum + (r.count / n) * gap(r), 0));
  return {
    count: n,
    accuracy: n === 0 ? 0 : s.correct.reduce((a, b) => a + b, 0) / n,
    meanConfidence: n === 0 ? 0 : s.confidence.reduce((a, b) => a + b, 0) / n,
    ece: ece(reliability),
    eceEqualMass: ece(reliabilityEqualMass),
    mce: reliability.reduce((m, r) => (r.count > 0 ? Math.max(m, gap(r)) : m), 0),
    brier: n === 0 ? 0 : s.brier / n,
    nll: n === 0 ? 0 : s.nll / n,
    bins,
    reliability,
    reliabilityEqualMass,
  };
}

const empty = (): Summary => ({ confidence: [], correct: [], brier: 0, nll: 0 });

/**
 * Calibration metrics from logits (row-major `[count, numClasses]`) and labels.
 * `temperature` divides the logits first (temperature scaling).
 *
 * @throws InputError `E_CALIBRATION_INPUT` when the sizes disagree, `E_LABEL_RANGE` for a bad label.
 * @throws UsageError `E_CALIBRATION_OPTION` for bins < 1 or numClasses < 2.
 * @example const m = calibrationFromLogits(logits, labels, 10, { bins: 15 }); m.ece;
 */
export function calibrationFromLogits(
  logits: ArrayLike<number>,
  labels: Int32Array,
  numClasses: number,
  options: CalibrationOptions & { temperature?: number } = {},
): CalibrationMetrics {
  const bins = checkBins(options.bins);
  checkRows(logits, labels, numClasses, 'logits');
  const temperature = options.temperature ?? 1;
  if (!(temperature > 0 && Number.isFinite(temperature))) {
    throw new UsageError('E_CALIBRATION_OPTION', `Temperature must be a finite number > 0; got ${temperature}.`, {
      details: { option: 'temperature', value: temperature },
    });
  }
  const s = empty();
  summarise(logSoftmaxRows(logits, numClasses, temperature), labels, numClasses, s);
  return finish(s, bins);
}

/**
 * Calibration metrics from probabilities (row-major `[count, numClasses]`, rows summing to 1).
 *
 * @throws InputError `E_CALIBRATION_INPUT` when the sizes disagree or a value is outside [0, 1].
 * @throws UsageError `E_CALIBRATION_OPTION` for bins < 1 or numClasses < 2.
 * @example const m = calibrationFromProbabilities(probs, labels, 2);
 */
export function calibrationFromProbabilities(
  probabilities: ArrayLike<number>,
  labels: Int32Array,
  numClasses: number,
  options: CalibrationOptions = {},
): CalibrationMetrics {
  const bins = checkBins(options.bins);
  checkRows(probabilities, labels, numClasses, 'probabilities');
  for (let i = 0; i < probabilities.length; i++) {
    const p = probabilities[i] as number;
    if (!(p >= 0 && p <= 1))
      throw new InputError(
        'E_CALIBRATION_INPUT',
        `Probability ${i} is ${p}; probabilities must lie in [0, 1] (pass logits to calibrationFromLogits instead).`,
      );
  }
  const s = empty();
  summarise((row, c) => Math.log(probabilities[row * numClasses + c] as number), labels, numClasses, s);
  return finish(s, bins);
}

/**
 * A streaming calibration metric: `update` with each batch's logits and labels, then
 * `compute`. Keeps two numbers per example (equal-mass bins need them all), never tensors.
 *
 * @throws UsageError `E_CALIBRATION_OPTION` for bins < 1 or numClasses < 2.
 */
export function calibrationMetric(
  numClasses: number,
  options: CalibrationOptions = {},
): Metric<{ logits: ArrayLike<number>; labels: Int32Array }, CalibrationMetrics> {
  const bins = checkBins(options.bins);
  const s = empty();
  return {
    update({ logits, labels }) {
      checkRows(logits, labels, numClasses, 'logits');
      summarise(logSoftmaxRows(logits, numClasses), labels, numClasses, s);
    },
    compute: () => finish(s, bins),
  };
}

/**
 * A model's logits on every example of a dataset, row-major `[count, numClasses]`.
 *
 * @throws InputError `E_INPUT_SHAPE` when the data does not fit the model.
 */
export async function datasetLogits(model: Classifier, data: Dataset, batchSize = 256): Promise<Float32Array> {
  assertBatchShape(model, [data.count, ...data.shape], `dataset '${data.name}'`);
  const out = new Float32Array(data.count * model.numClasses);
  for (const [start, end] of ranges(data.count, batchSize)) {
    const x = batchTensor(data, start, end);
    try {
      // Through scoresOf, so a black-box target (onnxruntime, HTTP) answers by counted queries.
      const z = await scoresOf(model, x);
      out.set(model.queryScores ? asLogits(z, model.numClasses) : z, start * model.numClasses);
    } finally {
      x.dispose();
    }
  }
  return out;
}

/**
 * A black-box target's scores as logits: rows that are probabilities (in [0, 1], summing to 1,
 * as an endpoint's softmax answers are) become log-probabilities, so softmax gives them back;
 * other scores are taken as logits already.
 */
function asLogits(scores: Float32Array, numClasses: number): Float32Array {
  for (let i = 0; i < scores.length; i += numClasses) {
    let sum = 0;
    for (let k = i; k < i + numClasses; k++) {
      const v = scores[k] as number;
      if (!(v >= 0 && v <= 1)) return scores;
      sum += v;
    }
    if (Math.abs(sum - 1) > 1e-3) return scores;
  }
  return scores.map((v) => Math.log(Math.max(v, 1e-12)));
}

/**
 * A model's logits on adversarial versions of every example (untargeted, true labels),
 * row-major `[count, numClasses]`. Every example is attacked, misclassified ones included,
 * because calibration is about all the answers a model gives under attack.
 *
 * @throws whatever the attack throws for this model and threat.
 */
export async function adversarialLogits(
  model: Classifier,
  data: Dataset,
  attack: Attack,
  threat: ThreatModel,
  options: { batchSize?: number; seed?: number } = {},
): Promise<Float32Array> {
  const batchSize = options.batchSize ?? 256;
  assertBatchShape(model, [data.count, ...data.shape], `dataset '${data.name}'`);
  const out = new Float32Array(data.count * model.numClasses);
  for (const [start, end] of ranges(data.count, batchSize)) {
    const x = batchTensor(data, start, end);
    try {
      const result = await attack.run(model, x, data.y.slice(start, end), threat, { seed: (options.seed ?? 0) + start });
      const z = tf.tidy(() => model.logits(result.adversarial));
      result.adversarial.dispose();
      out.set(await z.data(), start * model.numClasses);
      z.dispose();
    } finally {
      x.dispose();
    }
  }
  return out;
}

export interface CalibrationReportOptions extends CalibrationOptions {
  model: Classifier;
  data: Dataset;
  /** With `threat`, also measure calibration on this attack's adversarial inputs. */
  attack?: Attack;
  threat?: ThreatModel;
  batchSize?: number;
  seed?: number;
}

export interface CalibrationReport {
  kind: 'rampart.calibration-report';
  model: { id: string };
  data: { name: string; count: number };
  clean: CalibrationMetrics;
  adversarial?: CalibrationMetrics & {
    attack: { id: string; config: Readonly<object> };
    threat: { id: string; norm: string; epsilon: number };
  };
}

/**
 * Calibration of a model on clean inputs and, given an attack and a threat, on adversarial
 * inputs crafted against it.
 *
 * @throws UsageError `E_CALIBRATION_OPTION` for bad bins or an attack without a threat (or the reverse).
 * @throws InputError when the data does not fit the model; whatever the attack throws.
 * @example
 * const threat = threatModel({ norm: 'linf', epsilon: 0.1 });
 * const report = await calibrationReport({ model, data: test, attack: createAttack('pgd'), threat });
 */
export async function calibrationReport(options: CalibrationReportOptions): Promise<CalibrationReport> {
  const { model, data, attack, threat } = options;
  const bins = checkBins(options.bins);
  if ((attack === undefined) !== (threat === undefined)) {
    throw new UsageError(
      'E_CALIBRATION_OPTION',
      'Give both an attack and a threat for adversarial calibration, or neither for clean calibration only.',
    );
  }
  const clean = calibrationFromLogits(await datasetLogits(model, data, options.batchSize), data.y, model.numClasses, { bins });
  const report: CalibrationReport = {
    kind: 'rampart.calibration-report',
    model: { id: model.id },
    data: { name: data.name, count: data.count },
    clean,
  };
  if (attack && threat) {
    const z = await adversarialLogits(model, data, attack, threat, {
      ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
      seed: options.seed ?? 0,
    });
    report.adversarial = {
      ...calibrationFromLogits(z, data.y, model.numClasses, { bins }),
      attack: { id: attack.id, config: attack.config },
      threat: { id: threat.id, norm: threat.norm, epsilon: threat.epsilon },
    };
  }
  return report;
}

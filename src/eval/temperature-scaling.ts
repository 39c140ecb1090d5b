/**
 * Temperature scaling — "On Calibration of Modern Neural Networks", Guo, Pleiss, Sun,
 * Weinberger, ICML 2017, https://arxiv.org/abs/1706.04599 — one scalar T > 0 that divides
 * the logits, fitted on held-out validation data by minimising the negative
 * log-likelihood. It never changes the predicted class, only the confidence.
 *
 * The fit is a golden-section search on log T. Why not LBFGS: with β = 1/T, the NLL is
 * mean(logsumexp(β·z) − β·z_y), a convex function of β (log-sum-exp of a linear map), so
 * it is unimodal in β and therefore in log T. Golden section then finds the global minimum
 * of a unimodal function without gradients, step sizes or line-search safeguards, in a
 * fixed number of evaluations (each one pass over N×K logits in JavaScript, microseconds
 * for a validation set). Searching in log T treats over- and under-confidence alike.
 */
import { UsageError } from '../core/errors.js';
import type { Dataset } from '../core/types.js';
import type { Classifier } from '../models/classifier.js';
import { calibrationFromLogits, datasetLogits, type CalibrationMetrics } from './calibration.js';

export interface FitTemperatureOptions {
  /** Search range for T; default [0.01, 100]. */
  minTemperature?: number;
  maxTemperature?: number;
  /** Stop when the bracket on log T is narrower than this; default 1e-6. */
  tolerance?: number;
}

export interface TemperatureFit {
  temperature: number;
  nllBefore: number;
  nllAfter: number;
  /** NLL evaluations spent by the search. */
  evaluations: number;
  /**
   * True when the optimum sits at an end of the search range: the data want a T outside
   * it (e.g. a validation set the model gets 100% right pushes T towards 0). Widen the
   * range or use more validation data.
   */
  atBoundary: boolean;
}

/** Mean NLL of `labels` under softmax(logits / T), float64. */
export function temperatureNll(logits: ArrayLike<number>, labels: Int32Array, numClasses: number, temperature: number): number {
  let total = 0;
  for (let i = 0; i < labels.length; i++) {
    let max = -Infinity;
    for (let c = 0; c < numClasses; c++) max = Math.max(max, (logits[i * numClasses + c] as number) / temperature);
    let sum = 0;
    for (let c = 0; c < numClasses; c++) sum += Math.exp((logits[i * numClasses + c] as number) / temperature - max);
    total += max + Math.log(sum) - (logits[i * numClasses + (labels[i] as number)] as number) / temperature;
  }
  return labels.length === 0 ? 0 : total / labels.length;
}

const INV_PHI = (Math.sqrt(5) - 1) / 2;

/**
 * Fits the temperature that minimises validation NLL (golden-section search on log T).
 *
 * @throws UsageError `E_TEMPERATURE_OPTION` for a bad range or tolerance, or no labels.
 * @throws InputError `E_CALIBRATION_INPUT` when logits and labels disagree in size.
 * @example const { temperature } = fitTemperature(validationLogits, validation.y, 10);
 */
export function fitTemperature(
  logits: ArrayLike<number>,
  labels: Int32Array,
  numClasses: number,
  options: FitTemperatureOptions = {},
): TemperatureFit {
  const lo = options.minTemperature ?? 0.01;
  const hi = options.maxTemperature ?? 100;
  const tolerance = options.tolerance ?? 1e-6;
  if (!(lo > 0 && hi > lo && Number.isFinite(hi))) {
    throw new UsageError(
      'E_TEMPERATURE_OPTION',
      `The temperature range must satisfy 0 < minTemperature < maxTemperature < Infinity; got [${lo}, ${hi}].`,
      { details: { minTemperature: lo, maxTemperature: hi } },
    );
  }
  if (!(tolerance > 0)) throw new UsageError('E_TEMPERATURE_OPTION', `tolerance must be > 0; got ${tolerance}.`);
  if (labels.length === 0) throw new UsageError('E_TEMPERATURE_OPTION', 'Fitting a temperature needs at least one validation example.');
  // Validates sizes and labels once, with the calibration module's messages.
  calibrationFromLogits(logits, labels, numClasses, { bins: 1 });
  const nll = (u: number) => temperatureNll(logits, labels, numClasses, Math.exp(u));
  let a = Math.log(lo);
  let b = Math.log(hi);
  let c = b - INV_PHI * (b - a);
  let d = a + INV_PHI * (b - a);
  let fc = nll(c);
  let fd = nll(d);
  let evaluations = 2;
  while (b - a > tolerance) {
    if (fc <= fd) {
      b = d;
      d = c;
      fd = fc;
      c = b - INV_PHI * (b - a);
      fc = nll(c);
    } else {
      a = c;
      c = d;
      fc = fd;
      d = a + INV_PHI * (b - a);
      fd = nll(d);
    }
    evaluations++;
  }
  const u = (a + b) / 2;
  const temperature = Math.exp(u);
  const edge = 10 * tolerance;
  return {
    temperature,
    nllBefore: temperatureNll(logits, labels, numClasses, 1),
    nllAfter: nll(u),
    evaluations: evaluations + 1,
    atBoundary: u - Math.log(lo) < edge || Math.log(hi) - u < edge,
  };
}

export interface TemperatureScalingOptions extends FitTemperatureOptions {
  model: Classifier;
  /** Held-out data to fit T on (never the test set). */
  validation: Dataset;
  /** Optional data to report before/after metrics on with the fitted T. */
  test?: Dataset;
  bins?: number;
  batchSize?: number;
}

export interface TemperatureScalingReport {
  kind: 'rampart.temperature-scaling';
  model: { id: string };
  fit: TemperatureFit;
  validation: { name: string; before: CalibrationMetrics; after: CalibrationMetrics };
  test?: { name: string; before: CalibrationMetrics; after: CalibrationMetrics };
}

/**
 * Fits a temperature for a model on validation data and reports calibration before and
 * after, on validation and optionally test data. Save the result with
 * `saveTemperature(dir, report.fit.temperature)` and use it through `CalibratedClassifier`.
 *
 * @throws UsageError `E_TEMPERATURE_OPTION` for bad options; InputError when the data do not fit the model.
 * @example
 * const report = await temperatureScaling({ model, validation, test });
 * const calibrated = new CalibratedClassifier(model, report.fit.temperature);
 */
export async function temperatureScaling(options: TemperatureScalingOptions): Promise<TemperatureScalingReport> {
  const { model, validation, test } = options;
  const metricOptions = options.bins === undefined ? {} : { bins: options.bins };
  const zValidation = await datasetLogits(model, validation, options.batchSize);
  const fit = fitTemperature(zValidation, validation.y, model.numClasses, options);
  const report: TemperatureScalingReport = {
    kind: 'rampart.temperature-scaling',
    model: { id: model.id },
    fit,
    validation: {
      name: validation.name,
      before: calibrationFromLogits(zValidation, validation.y, model.numClasses, metricOptions),
      after: calibrationFromLogits(zValidation, validation.y, model.numClasses, { ...metricOptions, temperature: fit.temperature }),
    },
  };
  if (test) {
    const zTest = await datasetLogits(model, test, options.batchSize);
    report.test = {
      name: test.name,
      before: calibrationFromLogits(zTest, test.y, model.numClasses, metricOptions),
      after: calibrationFromLogits(zTest, test.y, model.numClasses, { ...metricOptions, temperature: fit.temperature }),
    };
  }
  return report;
}

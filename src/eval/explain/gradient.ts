/**
 * White-box attributions from input gradients of the explained class's logit:
 * - vanilla gradient (Simonyan et al. 2014, https://arxiv.org/abs/1312.6034) and
 *   gradient × input (Shrikumar et al. 2017, https://arxiv.org/abs/1704.02685);
 * - SmoothGrad (Smilkov et al. 2017, https://arxiv.org/abs/1706.03825): the mean gradient
 *   over seeded Gaussian copies of the input;
 * - Integrated Gradients (Sundararajan et al. 2017, https://arxiv.org/abs/1703.01365):
 *   (x − x′) times the mean gradient on the straight path from the baseline x′ to x (midpoint
 *   rule), with the completeness error Σ attribution vs f(x) − f(x′) reported.
 * The logit, not the probability, is explained: softmax saturates, and completeness is then
 * checked against the number the model actually computes.
 */
import * as tf from '@tensorflow/tfjs';
import { GradientError } from '../../core/errors.js';
import { createRng } from '../../core/rng.js';
import type { Classifier } from '../../models/classifier.js';
import { makeBaseline } from './baseline.js';
import type { ResolvedExplainOptions } from './options.js';
import type { Attribution, BudgetCheck } from './types.js';

/**
 * Sums over a batch of points the input gradient of logit `target`, and returns the logits
 * of `target` at each point. One forward+backward pass per call.
 */
async function gradientSum(
  model: Classifier,
  points: Float32Array,
  count: number,
  target: number,
): Promise<{ sum: Float32Array; scores: Float32Array }> {
  const [grad, scores] = tf.tidy(() => {
    const x = tf.tensor(points, [count, ...model.inputShape]);
    const mask = tf.oneHot(tf.fill([count], target, 'int32'), model.numClasses);
    // A vector output with dy = 1 gives each point's score and the summed gradient from one pass.
    const perPoint = (input: tf.Tensor): tf.Tensor => tf.sum(tf.mul(model.logits(input), mask), 1);
    const { value, grad: g } = tf.valueAndGrad(perPoint)(x, tf.ones([count]));
    return [tf.sum(g, 0), value];
  });
  try {
    const sum = (await grad.data()) as Float32Array;
    if (!sum.every(Number.isFinite))
      throw new GradientError(
        'E_EXPLAIN_GRADIENT',
        `The input gradient of model '${model.id}' is not finite here; check the model for overflow or use method 'occlusion'.`,
        {
          details: { model: model.id },
        },
      );
    return { sum, scores: (await scores.data()) as Float32Array };
  } finally {
    tf.dispose([grad, scores]);
  }
}

/** Runs `count` points through `gradientSum` in batches built by `pointAt`; returns the summed gradient and every point's score. */
async function batchedGradients(
  model: Classifier,
  target: number,
  count: number,
  batchSize: number,
  pointAt: (i: number, into: Float32Array) => void,
  check: BudgetCheck | undefined,
  what: string,
): Promise<{ sum: Float64Array; scores: Float32Array }> {
  const size = model.inputShape.reduce((a, b) => a * b, 1);
  const total = new Float64Array(size);
  const scores = new Float32Array(count);
  for (let start = 0; start < count; start += batchSize) {
    check?.(`${what} ${start} of ${count}`);
    const n = Math.min(batchSize, count - start);
    const points = new Float32Array(n * size);
    for (let k = 0; k < n; k++) pointAt(start + k, points.subarray(k * size, (k + 1) * size));
    const { sum, scores: s } = await gradientSum(model, points, n, target);
    for (let j = 0; j < size; j++) total[j] = (total[j] as number) + (sum[j] as number);
    scores.set(s, start);
  }
  return { sum: total, scores };
}

/** Vanilla gradient, or gradient × input. */
export async function gradientAttribution(model: Classifier, x: Float32Array, target: number, timesInput: boolean): Promise<Attribution> {
  const { sum } = await gradientSum(model, x, 1, target);
  const values = timesInput ? Float32Array.from(sum, (g, j) => g * (x[j] as number)) : Float32Array.from(sum);
  return {
    method: timesInput ? 'gradient-x-input' : 'gradient',
    shape: [...model.inputShape],
    target,
    values,
    evaluations: 1,
    settings: {},
  };
}

/** SmoothGrad: the mean gradient over `samples` seeded noisy copies, clipped to the bounds. */
export async function smoothGrad(
  model: Classifier,
  x: Float32Array,
  target: number,
  options: Pick<ResolvedExplainOptions, 'samples' | 'noise' | 'seed' | 'batchSize'>,
  check?: BudgetCheck,
): Promise<Attribution> {
  const { min, max } = model.bounds;
  const sigma = options.noise * (max - min);
  const rng = createRng(options.seed);
  const { sum } = await batchedGradients(
    model,
    target,
    options.samples,
    options.batchSize,
    (_i, into) => {
      for (let j = 0; j < into.length; j++) into[j] = Math.min(max, Math.max(min, (x[j] as number) + sigma * rng.normal()));
    },
    check,
    'smoothgrad sample',
  );
  return {
    method: 'smoothgrad',
    shape: [...model.inputShape],
    target,
    values: Float32Array.from(sum, (g) => g / options.samples),
    evaluations: options.samples,
    settings: { samples: options.samples, noise: options.noise, seed: options.seed },
  };
}

/** Integrated gradients from the chosen baseline, with the completeness error. */
export async function integratedGradients(
  model: Classifier,
  x: Float32Array,
  target: number,
  options: Pick<ResolvedExplainOptions, 'steps' | 'baseline' | 'seed' | 'batchSize'>,
  check?: BudgetCheck,
): Promise<Attribution> {
  const base = makeBaseline(options.baseline, x, model.inputShape, model.bounds, options.seed);
  const steps = options.steps;
  // Two extra points (the baseline and the input itself) give f(x′) and f(x) for the completeness check.
  const { sum: pathSum } = await batchedGradients(
    model,
    target,
    steps,
    options.batchSize,
    (i, into) => {
      const alpha = (i + 0.5) / steps;
      for (let j = 0; j < into.length; j++) into[j] = (base[j] as number) + alpha * ((x[j] as number) - (base[j] as number));
    },
    check,
    'integrated-gradients step',
  );
  const ends = new Float32Array(2 * x.length);
  ends.set(base, 0);
  ends.set(x, x.length);
  const { scores } = await gradientSum(model, ends, 2, target);
  const values = Float32Array.from(pathSum, (g, j) => ((x[j] as number) - (base[j] as number)) * (g / steps));
  const scoreDifference = (scores[1] as number) - (scores[0] as number);
  let total = 0;
  for (const v of values) total += v;
  const completenessError = Math.abs(total - scoreDifference) / Math.max(Math.abs(scoreDifference), 1e-6);
  return {
    method: 'ig',
    shape: [...model.inputShape],
    target,
    values,
    scoreDifference,
    completenessError,
    evaluations: steps + 2,
    settings: { steps, baseline: options.baseline, seed: options.seed },
  };
}

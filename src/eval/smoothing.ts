/**
 * Randomized smoothing — "Certified Adversarial Robustness via Randomized Smoothing",
 * Cohen, Rosenfeld, Kolter, ICML 2019, https://arxiv.org/abs/1902.02918
 *
 * The smoothed classifier g(x) = argmax_c P(f(x + ε) = c), ε ~ N(0, σ²I), is robust in L2:
 * if the top class has probability pA ≥ 1/2 under the noise, g does not change within
 * radius σ·Φ⁻¹(pA). PREDICT and CERTIFY below are the paper's algorithms: Monte Carlo
 * counts, an exact binomial test (PREDICT) or a one-sided Clopper-Pearson lower bound on
 * pA (CERTIFY), each failing with probability at most alpha, in which case they abstain.
 *
 * The base classifier must be accurate under the same noise: train it with the `noise`
 * objective (`noise({ sigma })`, `rampart train --method noise`) at the σ you certify with.
 * That objective does not clip by default, matching the certificate, which is for
 * unclipped Gaussian noise; the noisy inputs here are not clipped to the bounds either.
 *
 * Defaults: n0 = 100 selection samples and alpha = 0.001 as in the paper; n = 10,000
 * estimation samples (the paper uses 100,000; fewer samples cap the largest certifiable
 * radius, at σ·Φ⁻¹(0.001^(1/n)) ≈ 3.1σ for 10,000, but cost 10x less).
 */
import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../core/errors.js';
import { createRng, type Rng } from '../core/rng.js';
import { gatherRowValues } from '../core/tensors.js';
import type { Dataset } from '../core/types.js';
import { withSession, type Executor } from '../execution/executor.js';
import { localExecutor } from '../execution/create.js';
import {
  argmaxCount,
  candidateCount,
  CERTIFY_KIND,
  noiseVotes,
  type CertifyShard,
  type CertifyShardResult,
} from '../execution/handlers/certify.js';
import { shardRanges } from '../execution/shards.js';
import { assertBatchShape, type Classifier } from '../models/classifier.js';
import { binomialTestHalf, clopperPearsonLower, normalInverseCdf } from './binomial.js';

export interface NoiseSamplingOptions {
  /** Standard deviation of the Gaussian noise, in input units. */
  sigma: number;
  /** Noisy copies per forward pass; default 1000. Part of the seed: change it and the noise changes. */
  batchSize?: number;
  /** Seed for the noise; default 0. */
  seed?: number;
}

export interface CertifyOptions extends NoiseSamplingOptions {
  /** Samples used to pick the candidate class; default 100. */
  n0?: number;
  /** Samples used to bound its probability; default 10,000. */
  n?: number;
  /** Failure probability of each certificate; default 0.001. */
  alpha?: number;
}

export interface PredictOptions extends NoiseSamplingOptions {
  /** Samples; default 10,000. */
  n?: number;
  /** Failure probability of each prediction; default 0.001. */
  alpha?: number;
}

/** One example's certificate. `prediction` is null when CERTIFY abstains. */
export interface Certificate {
  prediction: number | null;
  /** Certified L2 radius σ·Φ⁻¹(pALower); 0 when abstaining. */
  radius: number;
  /** The candidate class picked from the n0 selection samples. */
  candidate: number;
  /** Count of the candidate among the n estimation samples. */
  candidateCount: number;
  /** One-sided Clopper-Pearson lower bound on the candidate's probability under noise. */
  pALower: number;
}

/** One example's smoothed prediction. `prediction` is null when PREDICT abstains. */
export interface SmoothedPrediction {
  prediction: number | null;
  /** Votes per class among the n noisy copies. */
  counts: number[];
  /** Two-sided binomial test of top count versus runner-up count, p = 1/2. */
  pValue: number;
}

interface Resolved {
  sigma: number;
  batchSize: number;
  n0: number;
  n: number;
  alpha: number;
}

function wholeNumber(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 1)
    throw new UsageError('E_SMOOTHING_OPTION', `Smoothing option '${name}' must be a whole number >= 1; got ${String(value)}.`, {
      details: { option: name, value },
    });
  return v;
}

function resolve(options: CertifyOptions): Resolved {
  const { sigma } = options;
  if (typeof sigma !== 'number' || !Number.isFinite(sigma) || sigma <= 0) {
    throw new UsageError(
      'E_SMOOTHING_OPTION',
      `Smoothing option 'sigma' must be a finite number > 0 (the noise level the model was trained with, e.g. 0.25); got ${String(sigma)}.`,
      {
        details: { option: 'sigma', value: sigma },
      },
    );
  }
  const alpha = options.alpha ?? 0.001;
  if (!(typeof alpha === 'number' && alpha > 0 && alpha < 1)) {
    throw new UsageError('E_SMOOTHING_OPTION', `Smoothing option 'alpha' must be in (0, 1), e.g. 0.001; got ${String(alpha)}.`, {
      details: { option: 'alpha', value: alpha },
    });
  }
  return {
    sigma,
    alpha,
    batchSize: wholeNumber('batchSize', options.batchSize, 1000),
    n0: wholeNumber('n0', options.n0, 100),
    n: wholeNumber('n', options.n, 10_000),
  };
}

/** Runs `fn` on each example of the batch as a `[1, ...inputShape]` tensor with its own RNG. */
async function perExample<T>(
  model: Classifier,
  x: tf.Tensor,
  seed: number,
  fn: (example: tf.Tensor, rng: Rng) => Promise<T>,
): Promise<T[]> {
  assertBatchShape(model, x.shape);
  const batch = x.shape[0] as number;
  const root = createRng(seed);
  const out: T[] = [];
  for (let i = 0; i < batch; i++) {
    // A fork per example: the noise for example i does not depend on how many came before it in a batch.
    const rng = root.fork();
    const example = tf.slice(x, [i], [1]);
    try {
      out.push(await fn(example, rng));
    } finally {
      example.dispose();
    }
  }
  return out;
}

/**
 * CERTIFY (Cohen et al. 2019, Algorithm 1, right): per example, pick the top class from n0
 * noisy samples, bound its probability from n fresh samples, and return it with the L2
 * radius σ·Φ⁻¹(pA_lower), or abstain when pA_lower < 1/2. With probability at least
 * 1 - alpha per example, a returned class is the smoothed classifier's prediction at
 * every point within the radius.
 *
 * @throws UsageError `E_SMOOTHING_OPTION` for σ <= 0, alpha outside (0, 1) or sample counts < 1.
 * @throws InputError `E_INPUT_SHAPE` when `x` does not fit the model.
 * @example
 * const [cert] = await certify(model, x, { sigma: 0.25, n0: 100, n: 10_000, alpha: 0.001, seed: 1 });
 */
export async function certify(model: Classifier, x: tf.Tensor, options: CertifyOptions): Promise<Certificate[]> {
  const o = resolve(options);
  return perExample(model, x, options.seed ?? 0, async (example, rng) => {
    const c = await candidateCount(model, example, o, rng);
    return certificateOf(c.candidate, c.candidateCount, o);
  });
}

/** CERTIFY's decision from the sampled counts: the candidate with its radius, or abstain. */
function certificateOf(candidate: number, candidateCount: number, o: Resolved): Certificate {
  const pALower = clopperPearsonLower(candidateCount, o.n, o.alpha);
  if (pALower < 0.5) return { prediction: null, radius: 0, candidate, candidateCount, pALower };
  return { prediction: candidate, radius: o.sigma * normalInverseCdf(pALower), candidate, candidateCount, pALower };
}

/**
 * PREDICT (Cohen et al. 2019, Algorithm 1, left): the smoothed classifier's class from n
 * noisy samples, or abstain unless the top count beats the runner-up under a two-sided
 * binomial test at level alpha. A returned class differs from g(x) with probability at
 * most alpha.
 *
 * @throws UsageError `E_SMOOTHING_OPTION` for σ <= 0, alpha outside (0, 1) or n < 1.
 * @throws InputError `E_INPUT_SHAPE` when `x` does not fit the model.
 * @example const [p] = await predictSmoothed(model, x, { sigma: 0.25, n: 1000, alpha: 0.001 });
 */
export async function predictSmoothed(model: Classifier, x: tf.Tensor, options: PredictOptions): Promise<SmoothedPrediction[]> {
  const o = resolve(options);
  return perExample(model, x, options.seed ?? 0, async (example, rng) => {
    const votes = await noiseVotes(model, example, o.n, o.sigma, o.batchSize, rng);
    const top = argmaxCount(votes);
    let runnerUp = -1;
    for (let c = 0; c < votes.length; c++)
      if (c !== top && (runnerUp < 0 || (votes[c] as number) > (votes[runnerUp] as number))) runnerUp = c;
    const nA = votes[top] as number;
    const nB = runnerUp < 0 ? 0 : (votes[runnerUp] as number);
    const pValue = binomialTestHalf(nA, nA + nB);
    return { prediction: pValue <= o.alpha ? top : null, counts: Array.from(votes), pValue };
  });
}

export interface CertifiedAccuracyOptions extends CertifyOptions {
  model: Classifier;
  data: Dataset;
  /** L2 radii to report certified accuracy at; default [0, 0.25, 0.5, 0.75, 1]. */
  radii?: readonly number[];
  /** Certify only the first `limit` examples (certification costs n0 + n passes each). */
  limit?: number;
  /** Called as examples are certified (fractional while a shard runs). */
  onProgress?: (progress: { done: number; total: number }) => void;
  /**
   * Where the examples are certified: in this thread by default, or a worker pool or queue
   * executor (shards of rows, each row with its own seed: the same numbers on any of them).
   */
  executor?: Executor;
  /** Examples per shard of work; default 4 (each costs n0 + n forward passes). Does not change the numbers. */
  shardRows?: number;
}

/** Examples per certification shard: each is thousands of forward passes, so small shards balance workers. */
export const DEFAULT_CERTIFY_SHARD_ROWS = 4;

export interface CertifiedAccuracyReport {
  kind: 'rampart.certified-accuracy';
  model: { id: string };
  data: { name: string; count: number };
  config: { sigma: number; n0: number; n: number; alpha: number; seed: number; batchSize: number };
  /** Fraction of examples whose certified class is right with a radius of at least r. */
  curve: { radius: number; certifiedAccuracy: number; count: number }[];
  abstentionRate: number;
  /** Fraction certified with the right class (any radius). */
  smoothedAccuracy: number;
  /** Median certified radius over correctly certified examples (0 when none). */
  medianRadiusCorrect: number;
  /**
   * The largest radius n samples can certify, σ·Φ⁻¹(α^(1/n)): even when all n noisy
   * samples agree, the lower bound on pA is α^(1/n). Curve points above it are 0 by
   * construction, whatever the model.
   */
  maxCertifiableRadius: number;
  examples: { index: number; label: number; prediction: number | null; radius: number; pALower: number }[];
  durationMs: number;
}

/**
 * Certified accuracy of the smoothed classifier at a list of L2 radii (Cohen et al. 2019,
 * Section 4): an example counts at radius r when CERTIFY returns its true label with a
 * radius >= r.
 *
 * @throws UsageError `E_SMOOTHING_OPTION` for bad options, `E_RADIUS` for a negative radius.
 * @throws InputError `E_INPUT_SHAPE` when the data does not fit the model.
 * @example
 * const report = await certifiedAccuracy({ model, data: test, sigma: 0.25, radii: [0, 0.5, 1], limit: 100 });
 */
export async function certifiedAccuracy(options: CertifiedAccuracyOptions): Promise<CertifiedAccuracyReport> {
  const started = Date.now();
  const { model, data } = options;
  const o = resolve(options);
  const seed = options.seed ?? 0;
  const radii = [...(options.radii ?? [0, 0.25, 0.5, 0.75, 1])].sort((a, b) => a - b);
  for (const r of radii) {
    if (!Number.isFinite(r) || r < 0)
      throw new UsageError('E_RADIUS', `Certification radii must be finite numbers >= 0; got ${r}.`, { details: { value: r } });
  }
  assertBatchShape(model, [data.count, ...data.shape], `dataset '${data.name}'`);
  const count = Math.min(data.count, options.limit ?? data.count);
  const root = createRng(seed);
  // Row i's noise seed is the i-th draw of the run's generator, whatever shard it lands in:
  // the numbers do not depend on the executor, the shard size or the number of workers.
  const seeds = Int32Array.from({ length: count }, () => root.seed());
  const size = options.shardRows ?? DEFAULT_CERTIFY_SHARD_ROWS;
  if (!Number.isInteger(size) || size < 1) {
    throw new UsageError('E_SMOOTHING_OPTION', `Smoothing option 'shardRows' must be a whole number >= 1; got ${String(size)}.`, {
      details: { option: 'shardRows', value: size },
    });
  }
  const ranges = shardRanges(count, size);
  const shards = ranges.map(([start, end]): CertifyShard => ({
    x: gatherRowValues(
      data,
      Array.from({ length: end - start }, (_, k) => start + k),
    ),
    shape: [end - start, ...data.shape],
    seeds: seeds.slice(start, end),
    sigma: o.sigma,
    batchSize: o.batchSize,
    n0: o.n0,
    n: o.n,
  }));
  const results = await withSession(options.executor ?? localExecutor(), model, (session) =>
    session.runShards<CertifyShard, CertifyShardResult>({
      kind: CERTIFY_KIND,
      shards,
      rows: ranges.map(([start, end]) => end - start),
      ...(options.onProgress ? { onProgress: (done: number, total: number) => options.onProgress?.({ done, total }) } : {}),
    }),
  );
  const examples: CertifiedAccuracyReport['examples'] = [];
  ranges.forEach(([start, end], k) => {
    const r = results[k] as CertifyShardResult;
    for (let i = start; i < end; i++) {
      const c = certificateOf(r.candidates[i - start] as number, r.counts[i - start] as number, o);
      examples.push({ index: i, label: data.y[i] as number, prediction: c.prediction, radius: c.radius, pALower: c.pALower });
    }
  });
  const correct = examples.filter((e) => e.prediction === e.label);
  const radiiCorrect = correct.map((e) => e.radius).sort((a, b) => a - b);
  const mid = radiiCorrect.length >> 1;
  const median =
    radiiCorrect.length === 0
      ? 0
      : radiiCorrect.length % 2
        ? (radiiCorrect[mid] as number)
        : ((radiiCorrect[mid - 1] as number) + (radiiCorrect[mid] as number)) / 2;
  const denominator = Math.max(1, count);
  return {
    kind: 'rampart.certified-accuracy',
    model: { id: model.id },
    data: { name: data.name, count },
    config: { sigma: o.sigma, n0: o.n0, n: o.n, alpha: o.alpha, seed, batchSize: o.batchSize },
    curve: radii.map((radius) => {
      const c = correct.filter((e) => e.radius >= radius).length;
      return { radius, certifiedAccuracy: c / denominator, count: c };
    }),
    abstentionRate: examples.filter((e) => e.prediction === null).length / denominator,
    smoothedAccuracy: correct.length / denominator,
    medianRadiusCorrect: median,
    maxCertifiableRadius: o.sigma * normalInverseCdf(clopperPearsonLower(o.n, o.n, o.alpha)),
    examples,
    durationMs: Date.now() - started,
  };
}

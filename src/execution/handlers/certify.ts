/**
 * The `certify` shard handler: the Monte Carlo half of randomized smoothing's CERTIFY
 * (Cohen et al. 2019) for a shard of rows. Per row, with that row's own seed: votes of the
 * base classifier on n0 noisy copies pick the candidate class, then its count among n fresh
 * noisy copies. The statistics (Clopper-Pearson bound, radius) need only the counts and run
 * on the coordinator (src/eval/smoothing.ts), which also calls `noiseVotes` and
 * `candidateCount` here, so a row gives the same counts in this thread, a pool worker or a
 * queue worker.
 */
import * as tf from '@tensorflow/tfjs';
import { InputError } from '../../core/errors.js';
import { createRng, type Rng } from '../../core/rng.js';
import { ranges } from '../../core/tensors.js';
import { sizeOf } from '../../core/types.js';
import { assertBatchShape, type Classifier } from '../../models/classifier.js';
import { classifierTarget, type AnyShardTarget, type ModelInfo, type ShardHandler } from './registry.js';

export const CERTIFY_KIND = 'certify';

/** The sampling settings of a certificate (resolved and checked by the caller). */
export interface NoiseSampling {
  sigma: number;
  /** Noisy copies per forward pass; part of the seed. */
  batchSize: number;
  /** Selection samples. */
  n0: number;
  /** Estimation samples. */
  n: number;
}

/** One shard of rows to certify: row-major inputs, one noise seed per row. */
export interface CertifyShard extends NoiseSampling {
  x: Float32Array;
  /** `[rows, ...inputShape]`. */
  shape: number[];
  /** Row `i`'s noise seed (the caller derives it from the run's seed and the row's index). */
  seeds: Int32Array;
}

export interface CertifyShardResult {
  /** The class picked from the n0 selection samples, per row. */
  candidates: Int32Array;
  /** Its count among the n estimation samples, per row. */
  counts: Int32Array;
}

/**
 * Votes of the base classifier on `count` noisy copies of one example. The example is
 * broadcast against the noise rather than tiled: Tile is very slow on wasm.
 */
export async function noiseVotes(
  model: Classifier,
  example: tf.Tensor,
  count: number,
  sigma: number,
  batchSize: number,
  rng: Rng,
): Promise<Int32Array> {
  const votes = new Int32Array(model.numClasses);
  for (const [start, end] of ranges(count, batchSize)) {
    const predicted = tf.tidy(() => {
      const noisy = tf.add(example, tf.randomNormal([end - start, ...model.inputShape], 0, sigma, 'float32', rng.seed()));
      return tf.argMax(model.logits(noisy), 1);
    });
    const classes = await predicted.data();
    predicted.dispose();
    for (let i = 0; i < classes.length; i++) {
      const c = classes[i] as number;
      votes[c] = (votes[c] as number) + 1;
    }
  }
  return votes;
}

/** The class with the most votes (the lowest index on a tie). */
export function argmaxCount(votes: Int32Array): number {
  let best = 0;
  for (let c = 1; c < votes.length; c++) if ((votes[c] as number) > (votes[best] as number)) best = c;
  return best;
}

/** CERTIFY's sampling for one `[1, ...inputShape]` example: the candidate from n0 samples, its count among n. */
export async function candidateCount(
  model: Classifier,
  example: tf.Tensor,
  o: NoiseSampling,
  rng: Rng,
): Promise<{ candidate: number; candidateCount: number }> {
  const selection = await noiseVotes(model, example, o.n0, o.sigma, o.batchSize, rng);
  const candidate = argmaxCount(selection);
  const estimation = await noiseVotes(model, example, o.n, o.sigma, o.batchSize, rng);
  return { candidate, candidateCount: estimation[candidate] as number };
}

/**
 * The generator of one row certified alone with `seed`: `certify` forks one per example
 * from `createRng(seed)`, and a row certified alone is its batch's first example.
 */
export function rowRng(seed: number): Rng {
  return createRng(seed).fork();
}

function checkCertify(shard: CertifyShard, model: ModelInfo): void {
  assertBatchShape(model, shard.shape);
  const rows = shard.shape[0] as number;
  if (shard.x.length !== sizeOf(shard.shape) || shard.seeds.length !== rows) {
    throw new InputError(
      'E_INPUT_LENGTH',
      `A certify shard holds ${shard.x.length} values and ${shard.seeds.length} seeds; shape [${shard.shape.join(', ')}] needs ${sizeOf(shard.shape)} values and one seed per row.`,
      { details: { length: shard.x.length, seeds: shard.seeds.length, shape: shard.shape } },
    );
  }
}

/** A new `certify` handler. */
export function certifyHandler(): ShardHandler<CertifyShard, CertifyShardResult, AnyShardTarget> {
  return {
    kind: CERTIFY_KIND,
    check: checkCertify,
    async run(target, shard, onProgress) {
      const { classifier } = classifierTarget(target, CERTIFY_KIND);
      checkCertify(shard, classifier);
      const rows = shard.shape[0] as number;
      const rowShape = [1, ...shard.shape.slice(1)];
      const rowSize = sizeOf(rowShape);
      const out: CertifyShardResult = { candidates: new Int32Array(rows), counts: new Int32Array(rows) };
      for (let i = 0; i < rows; i++) {
        const example = tf.tensor(shard.x.subarray(i * rowSize, (i + 1) * rowSize), rowShape, 'float32');
        try {
          const c = await candidateCount(classifier, example, shard, rowRng(shard.seeds[i] as number));
          out.candidates[i] = c.candidate;
          out.counts[i] = c.candidateCount;
        } finally {
          example.dispose();
        }
        onProgress?.(i + 1, rows);
      }
      return out;
    },
    transferables: (r) => [r.candidates.buffer, r.counts.buffer] as ArrayBuffer[],
  };
}

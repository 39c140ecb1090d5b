/** Mini-batches over a data set for training and evaluation loops. */
import { UsageError } from '../core/errors.js';
import { createRng } from '../core/rng.js';
import { sizeOf, type Dataset } from '../core/types.js';

/** One mini-batch: `count` examples, flat like a {@link Dataset}. */
export interface DataBatch {
  /** `count * product(shape)` features. A view into the data set when not shuffled: do not write. */
  readonly x: Float32Array;
  /** `count` labels. A view into the data set when not shuffled: do not write. */
  readonly y: Int32Array;
  /** Number of examples in this batch; the last batch may be short. */
  readonly count: number;
  /** Position of the batch's first example in this pass's order (0, batchSize, ...). */
  readonly start: number;
  /** Data set index of each example, so results can be mapped back after a shuffle. */
  readonly indices: Int32Array;
}

export interface BatchOptions {
  /** Visit examples in a seeded random order; default `false` (data set order). */
  readonly shuffle?: boolean;
  /** Seed of the order; required when `shuffle` is true so that runs reproduce. */
  readonly seed?: number;
}

/**
 * Yields consecutive mini-batches covering every example exactly once. Unshuffled
 * batches are zero-copy views; shuffled ones are gathered copies. Call again with a new
 * seed (e.g. `seed + epoch`) for a new order each epoch.
 *
 * @throws {UsageError} `E_BATCH_SIZE` if `batchSize` is not a positive integer;
 *   `E_BATCH_SEED` if `shuffle` is set without a finite `seed`.
 * @example
 * for (const batch of batches(train, 128, { shuffle: true, seed: epoch })) {
 *   const xs = tf.tensor(batch.x, [batch.count, ...train.shape]);
 *   // ...
 * }
 */
export function batches(ds: Dataset, batchSize: number, options: BatchOptions = {}): Generator<DataBatch, void, undefined> {
  if (!Number.isInteger(batchSize) || batchSize <= 0) {
    throw new UsageError('E_BATCH_SIZE', `batches: batchSize must be a positive integer, got ${batchSize}.`, { details: { batchSize } });
  }
  if (!options.shuffle) return inOrder(ds, batchSize);
  if (options.seed === undefined || !Number.isFinite(options.seed)) {
    throw new UsageError(
      'E_BATCH_SEED',
      'batches: shuffle needs a finite seed so the order can be reproduced; pass { shuffle: true, seed }.',
      {
        details: { seed: options.seed },
      },
    );
  }
  return shuffled(ds, batchSize, options.seed);
}

// The checks above live outside the generators so that a bad call throws where it is
// made, not at the first `next()` somewhere inside a training loop.
function* inOrder(ds: Dataset, batchSize: number): Generator<DataBatch, void, undefined> {
  const size = sizeOf(ds.shape);
  for (let start = 0; start < ds.count; start += batchSize) {
    const end = Math.min(start + batchSize, ds.count);
    const indices = new Int32Array(end - start);
    for (let k = 0; k < indices.length; k++) indices[k] = start + k;
    yield { x: ds.x.subarray(start * size, end * size), y: ds.y.subarray(start, end), count: end - start, start, indices };
  }
}

function* shuffled(ds: Dataset, batchSize: number, seed: number): Generator<DataBatch, void, undefined> {
  const size = sizeOf(ds.shape);
  const order = createRng(seed).shuffle(Array.from({ length: ds.count }, (_, i) => i));
  for (let start = 0; start < ds.count; start += batchSize) {
    const indices = Int32Array.from(order.slice(start, start + batchSize));
    const x = new Float32Array(indices.length * size);
    const y = new Int32Array(indices.length);
    indices.forEach((i, k) => {
      x.set(ds.x.subarray(i * size, (i + 1) * size), k * size);
      y[k] = ds.y[i] as number;
    });
    yield { x, y, count: indices.length, start, indices };
  }
}

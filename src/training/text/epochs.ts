/**
 * The epoch loop every text trainer shares: shuffle, batch, draw which rows to augment at
 * the schedule's rate, train a step, validate, record the epoch. A trainer brings only its
 * own step (how rows are encoded and the model updated) and its validation.
 */
import type { Rng } from '../../core/rng.js';

export interface TextTrainProgress {
  /** 1-based. */
  readonly epoch: number;
  readonly epochs: number;
  /** Mean training cross-entropy over the epoch. */
  readonly loss: number;
  /** Share of training texts perturbed this epoch. */
  readonly augmentRate: number;
  /** Accuracy on `validation`, when given. */
  readonly validationAccuracy?: number;
  readonly seconds: number;
}

export interface TextEpochLoop {
  readonly epochs: number;
  readonly batchSize: number;
  /** Training texts. */
  readonly count: number;
  /** Augmentation rate at a 0-based epoch (0: none). */
  readonly rateAt: (epoch: number) => number;
  /** Whether row `i` may be augmented at all (augmentation on, its class chosen). */
  readonly augmentable: (i: number) => boolean;
  readonly rng: Rng;
  /**
   * One training step on `batch` (row indices); `seeds[k]` is the perturbation seed of row
   * `batch[k]`, or undefined for the clean row. Returns the batch's mean loss.
   */
  readonly step: (batch: number[], seeds: (number | undefined)[]) => number;
  /** Validation accuracy after an epoch, when there is a validation set. */
  readonly validate: () => number | undefined | Promise<number | undefined>;
  readonly onEpoch?: ((progress: TextTrainProgress) => void) | undefined;
}

/** Runs the loop and returns the per-epoch history. */
export async function runTextEpochs(loop: TextEpochLoop): Promise<TextTrainProgress[]> {
  const history: TextTrainProgress[] = [];
  for (let epoch = 0; epoch < loop.epochs; epoch++) {
    const started = performance.now();
    const rate = loop.rateAt(epoch);
    const epochRng = loop.rng.fork();
    const order = epochRng.shuffle(Array.from({ length: loop.count }, (_, i) => i));
    let lossSum = 0;
    let batches = 0;
    for (let start = 0; start < order.length; start += loop.batchSize) {
      const batch = order.slice(start, start + loop.batchSize);
      // Draws in text order, so a run is the same whichever words end up perturbed.
      const seeds = batch.map((i) => (rate > 0 && loop.augmentable(i) && epochRng.next() < rate ? epochRng.seed() : undefined));
      lossSum += loop.step(batch, seeds);
      batches++;
    }
    const validationAccuracy = await loop.validate();
    const progress: TextTrainProgress = {
      epoch: epoch + 1,
      epochs: loop.epochs,
      loss: lossSum / Math.max(1, batches),
      augmentRate: rate,
      ...(validationAccuracy === undefined ? {} : { validationAccuracy }),
      seconds: (performance.now() - started) / 1000,
    };
    history.push(progress);
    loop.onEpoch?.(progress);
  }
  return history;
}

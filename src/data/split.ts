/**
 * Seeded train/validation/test splits. `subset`, `takeFirst` and `batches` live in their
 * own files and are re-exported here so the whole "carve up a data set" API is one import.
 */
import { UsageError } from '../core/errors.js';
import { createRng, type Rng } from '../core/rng.js';
import type { Dataset } from '../core/types.js';
import { subset } from './subset.js';

export { subset, takeFirst } from './subset.js';
export { batches, type BatchOptions, type DataBatch } from './batches.js';

/** Share of the examples in each subset; each in [0, 1], summing to 1. */
export interface SplitFractions {
  readonly train: number;
  readonly validation: number;
  readonly test: number;
}

export interface SplitOptions {
  /** Seed of the shuffles; the same seed and data give the same split. */
  readonly seed: number;
  readonly fractions: SplitFractions;
  /** Cut each class separately so every subset keeps the class mix; default `true`. */
  readonly stratified?: boolean;
}

export interface DatasetSplits {
  readonly train: Dataset;
  readonly validation: Dataset;
  readonly test: Dataset;
}

const FRACTION_TOLERANCE = 1e-9;

/**
 * Splits a data set into train, validation and test subsets named `${ds.name}/train`,
 * `${ds.name}/validation` and `${ds.name}/test`. Every example lands in exactly one.
 *
 * Stratified (the default): each class is shuffled and cut on its own, so each subset
 * holds every class's fraction to within one example. The subset sizes can therefore
 * differ from `count * fraction` by up to half the number of classes. Unstratified: one
 * shuffle of all examples, cut once.
 *
 * Each subset is shuffled again, so its classes are interleaved and `takeFirst` or
 * unshuffled batches see a mix of classes even when the source is sorted by class.
 *
 * @throws {UsageError} `E_SPLIT_FRACTIONS` if a fraction is outside [0, 1] or they do
 *   not sum to 1 (within 1e-9); `E_SPLIT_SEED` if the seed is not a finite number.
 * @example
 * const { train, validation, test } = splitDataset(loadBundledMnist(), {
 *   seed: 7,
 *   fractions: { train: 0.8, validation: 0.1, test: 0.1 },
 * });
 */
export function splitDataset(ds: Dataset, options: SplitOptions): DatasetSplits {
  const { train, validation } = checkFractions(options.fractions);
  if (!Number.isFinite(options.seed)) {
    throw new UsageError('E_SPLIT_SEED', `splitDataset: seed must be a finite number, got ${options.seed}.`, {
      details: { seed: options.seed },
    });
  }
  const rng = createRng(options.seed);
  const groups = options.stratified === false ? [allIndices(ds.count)] : indicesByClass(ds);

  const parts: [number[], number[], number[]] = [[], [], []];
  for (const group of groups) {
    rng.shuffle(group);
    // Cumulative cut points, rounded once each, so the three parts of a group always
    // add up to the group and each is within one example of its exact share.
    const cut1 = Math.round(group.length * train);
    const cut2 = Math.max(cut1, Math.min(group.length, Math.round(group.length * (train + validation))));
    group.forEach((index, k) => parts[k < cut1 ? 0 : k < cut2 ? 1 : 2].push(index));
  }

  return {
    train: shuffledSubset(ds, parts[0], rng, 'train'),
    validation: shuffledSubset(ds, parts[1], rng, 'validation'),
    test: shuffledSubset(ds, parts[2], rng, 'test'),
  };
}

function checkFractions(fractions: SplitFractions): SplitFractions {
  const entries = Object.entries({ train: fractions?.train, validation: fractions?.validation, test: fractions?.test });
  for (const [key, value] of entries) {
    if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
      throw new UsageError('E_SPLIT_FRACTIONS', `splitDataset: fractions.${key} must be a number in [0, 1], got ${String(value)}.`, {
        details: { fractions },
      });
    }
  }
  const sum = fractions.train + fractions.validation + fractions.test;
  if (Math.abs(sum - 1) > FRACTION_TOLERANCE) {
    throw new UsageError(
      'E_SPLIT_FRACTIONS',
      `splitDataset: fractions train + validation + test must sum to 1, got ${fractions.train} + ${fractions.validation} + ${fractions.test} = ${sum}.`,
      { details: { fractions, sum } },
    );
  }
  return fractions;
}

function allIndices(count: number): number[] {
  return Array.from({ length: count }, (_, i) => i);
}

function indicesByClass(ds: Dataset): number[][] {
  const byClass = new Map<number, number[]>();
  ds.y.forEach((label, i) => {
    let group = byClass.get(label);
    if (group === undefined) byClass.set(label, (group = []));
    group.push(i);
  });
  // Sorted by label so the RNG consumes classes in an order that does not depend on
  // which class happens to appear first in the data.
  return [...byClass.entries()].sort(([a], [b]) => a - b).map(([, group]) => group);
}

function shuffledSubset(ds: Dataset, indices: number[], rng: Rng, part: string): Dataset {
  return subset(ds, rng.shuffle(indices), `${ds.name}/${part}`);
}

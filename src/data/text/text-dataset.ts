/**
 * Labelled text: the text channel's counterpart of the tensor `Dataset`. Labels are indices
 * into `classes`, so a model's output column `k` is the class `classes[k]`.
 */
import { createHash } from 'node:crypto';
import { InputError, UsageError } from '../../core/errors.js';
import { createRng } from '../../core/rng.js';

export interface TextDataset {
  readonly name: string;
  readonly texts: readonly string[];
  /** Class index of each text, in [0, classes.length). */
  readonly labels: readonly number[];
  /** Class names in label order, e.g. `['ham', 'spam']`. */
  readonly classes: readonly string[];
}

export interface TextSplits {
  readonly train: TextDataset;
  readonly validation: TextDataset;
  readonly test: TextDataset;
}

export interface TextSplitOptions {
  /** Seed of the shuffles; the same seed and data give the same split. */
  readonly seed: number;
  /** Shares of train, validation and test; each in [0, 1], summing to 1. Default 0.7/0.1/0.2. */
  readonly fractions?: { readonly train: number; readonly validation: number; readonly test: number };
}

export interface DedupeReport {
  /** The data set without duplicates (the first occurrence of each text is kept). */
  readonly dataset: TextDataset;
  /** Texts dropped because an earlier text had the same normalised content. */
  readonly removed: number;
  /** Of those, how many carried a different label than the kept copy. */
  readonly conflicting: number;
}

/**
 * Checks that labels and texts line up and every label indexes a class.
 *
 * @throws InputError `E_TEXT_DATASET` naming the first problem.
 * @example
 * checkTextDataset({ name: 'x', texts: ['a'], labels: [0], classes: ['ham', 'spam'] });
 */
export function checkTextDataset(ds: TextDataset): TextDataset {
  if (ds.texts.length !== ds.labels.length) {
    throw new InputError(
      'E_TEXT_DATASET',
      `Text data set '${ds.name}' has ${ds.texts.length} texts but ${ds.labels.length} labels; they must match.`,
      {
        details: { texts: ds.texts.length, labels: ds.labels.length },
      },
    );
  }
  if (ds.classes.length < 2) {
    throw new InputError(
      'E_TEXT_DATASET',
      `Text data set '${ds.name}' has ${ds.classes.length} class(es); a classifier needs at least 2.`,
      {
        details: { classes: ds.classes },
      },
    );
  }
  ds.labels.forEach((label, i) => {
    if (!Number.isInteger(label) || label < 0 || label >= ds.classes.length) {
      throw new InputError(
        'E_TEXT_DATASET',
        `Text data set '${ds.name}': label ${label} at index ${i} is not a class index in [0, ${ds.classes.length}).`,
        {
          details: { index: i, label },
        },
      );
    }
  });
  return ds;
}

/**
 * The key two texts share when they are the same message up to case, whitespace and
 * punctuation runs: sha1 of the lower-cased text with every run of non-alphanumerics
 * collapsed to one space. Re-sent spam differs in exactly those ways.
 */
export function contentKey(text: string): string {
  const normalised = text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
  return createHash('sha1').update(normalised).digest('hex');
}

/**
 * Removes texts whose {@link contentKey} was already seen, keeping the first occurrence.
 *
 * @throws Nothing for a well-formed data set.
 * @example
 * dedupeTexts(ds).removed; // how many duplicates were dropped
 */
export function dedupeTexts(ds: TextDataset): DedupeReport {
  const seen = new Map<string, number>();
  const texts: string[] = [];
  const labels: number[] = [];
  let conflicting = 0;
  ds.texts.forEach((text, i) => {
    const key = contentKey(text);
    const label = ds.labels[i] as number;
    const earlier = seen.get(key);
    if (earlier !== undefined) {
      if (earlier !== label) conflicting++;
      return;
    }
    seen.set(key, label);
    texts.push(text);
    labels.push(label);
  });
  return { dataset: { name: ds.name, texts, labels, classes: ds.classes }, removed: ds.texts.length - texts.length, conflicting };
}

/**
 * Stratified, seeded train/validation/test split: each class is shuffled and cut on its
 * own, so each part keeps the class mix; each part is shuffled again so classes interleave.
 * Parts are named `${name}/train`, `${name}/validation`, `${name}/test`.
 *
 * @throws UsageError `E_SPLIT_FRACTIONS` for fractions outside [0, 1] or not summing to 1;
 *   `E_SPLIT_SEED` for a non-finite seed.
 * @example
 * const { train, test } = splitTextDataset(ds, { seed: 1, fractions: { train: 0.7, validation: 0.1, test: 0.2 } });
 */
export function splitTextDataset(ds: TextDataset, options: TextSplitOptions): TextSplits {
  const fractions = options.fractions ?? { train: 0.7, validation: 0.1, test: 0.2 };
  for (const [key, value] of Object.entries(fractions)) {
    if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
      throw new UsageError('E_SPLIT_FRACTIONS', `splitTextDataset: fractions.${key} must be a number in [0, 1], got ${String(value)}.`, {
        details: { fractions },
      });
    }
  }
  const sum = fractions.train + fractions.validation + fractions.test;
  if (Math.abs(sum - 1) > 1e-9) {
    throw new UsageError('E_SPLIT_FRACTIONS', `splitTextDataset: fractions must sum to 1, got ${sum}.`, { details: { fractions } });
  }
  if (!Number.isFinite(options.seed)) {
    throw new UsageError('E_SPLIT_SEED', `splitTextDataset: seed must be a finite number, got ${options.seed}.`, {
      details: { seed: options.seed },
    });
  }
  const rng = createRng(options.seed);
  const byClass = ds.classes.map(() => [] as number[]);
  ds.labels.forEach((label, i) => byClass[label]?.push(i));
  const parts: [number[], number[], number[]] = [[], [], []];
  for (const group of byClass) {
    rng.shuffle(group);
    const cut1 = Math.round(group.length * fractions.train);
    const cut2 = Math.max(cut1, Math.min(group.length, Math.round(group.length * (fractions.train + fractions.validation))));
    group.forEach((index, k) => parts[k < cut1 ? 0 : k < cut2 ? 1 : 2].push(index));
  }
  const pick = (indices: number[], part: string): TextDataset => {
    rng.shuffle(indices);
    return takeTexts(ds, indices, `${ds.name}/${part}`);
  };
  return { train: pick(parts[0], 'train'), validation: pick(parts[1], 'validation'), test: pick(parts[2], 'test') };
}

/**
 * The texts at `indices`, in that order, as a new data set.
 *
 * @throws Nothing; out-of-range indices are a programming error and yield `undefined` texts.
 * @example
 * takeTexts(ds, [0, 5, 9], 'three');
 */
export function takeTexts(ds: TextDataset, indices: readonly number[], name = ds.name): TextDataset {
  return {
    name,
    texts: indices.map((i) => ds.texts[i] as string),
    labels: indices.map((i) => ds.labels[i] as number),
    classes: ds.classes,
  };
}

/**
 * A seeded, stratified sample of at most `limit` texts (each class keeps its share), for
 * small tests and quick runs.
 *
 * @throws Nothing.
 * @example
 * sampleTexts(train, 400, 1);
 */
export function sampleTexts(ds: TextDataset, limit: number, seed: number): TextDataset {
  if (limit >= ds.texts.length) return ds;
  const rng = createRng(seed);
  const byClass = ds.classes.map(() => [] as number[]);
  ds.labels.forEach((label, i) => byClass[label]?.push(i));
  const chosen: number[] = [];
  for (const group of byClass) {
    rng.shuffle(group);
    chosen.push(...group.slice(0, Math.round((group.length / ds.texts.length) * limit)));
  }
  rng.shuffle(chosen);
  return takeTexts(ds, chosen, `${ds.name}[${chosen.length}]`);
}

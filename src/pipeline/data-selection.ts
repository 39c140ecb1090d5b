/**
 * Choosing the examples a command works on: a data set spec, the split it was trained
 * with, one subset of that split, and an optional limit. Training and evaluation share
 * this, so "the test set" means the same examples everywhere.
 */
import { UsageError, listChoices } from '../core/errors.js';
import type { Dataset } from '../core/types.js';
import { hashDataset, loadDataset, splitDataset, takeFirst, type DatasetSpec, type SplitFractions } from '../data/index.js';

export const DEFAULT_SPLIT: SplitFractions = { train: 0.8, validation: 0.1, test: 0.1 };
export const SUBSETS = ['train', 'validation', 'test', 'all'] as const;
export type SubsetName = (typeof SUBSETS)[number];

export interface DataSelection {
  spec: DatasetSpec;
  subset: SubsetName;
  splitSeed: number;
  fractions?: SplitFractions;
  /** Keep only the first N examples of the subset (the split is already shuffled). */
  limit?: number;
}

export interface SelectedData {
  full: Dataset;
  splits: { train: Dataset; validation: Dataset; test: Dataset };
  selected: Dataset;
  provenance: { spec: DatasetSpec; name: string; sha256: string; split: { seed: number; fractions: SplitFractions } };
}

/**
 * @throws UsageError `E_UNKNOWN_SUBSET`, `E_LIMIT`, or whatever the data loader throws.
 */
export function selectData(selection: DataSelection): SelectedData {
  if (!(SUBSETS as readonly string[]).includes(selection.subset)) {
    throw new UsageError('E_UNKNOWN_SUBSET', `Unknown subset '${selection.subset}'; use ${listChoices(SUBSETS)}.`);
  }
  if (selection.limit !== undefined && !(Number.isInteger(selection.limit) && selection.limit >= 1)) {
    throw new UsageError('E_LIMIT', `Limit must be a whole number >= 1; got ${selection.limit}.`);
  }
  const full = loadDataset(selection.spec);
  const fractions = selection.fractions ?? DEFAULT_SPLIT;
  const splits = splitDataset(full, { seed: selection.splitSeed, fractions });
  const chosen = selection.subset === 'all' ? full : splits[selection.subset];
  const selected = selection.limit !== undefined && selection.limit < chosen.count ? takeFirst(chosen, selection.limit) : chosen;
  return {
    full,
    splits,
    selected,
    provenance: { spec: selection.spec, name: full.name, sha256: hashDataset(full), split: { seed: selection.splitSeed, fractions } },
  };
}

/**
 * Parses the CLI's `--data` value: `mnist`, or `idx:IMAGES,LABELS`.
 *
 * @throws UsageError `E_UNKNOWN_DATASET` for anything else.
 */
export function parseDataSpec(text: string): DatasetSpec {
  if (text === 'mnist') return 'mnist';
  if (text.startsWith('idx:')) {
    const [images, labels, ...rest] = text.slice(4).split(',');
    if (images && labels && rest.length === 0) return { kind: 'idx', images, labels };
  }
  throw new UsageError('E_UNKNOWN_DATASET', `Unknown data '${text}'; use 'mnist' (bundled) or 'idx:IMAGES_FILE,LABELS_FILE'.`, {
    details: { value: text },
  });
}

/**
 * Choosing the examples a command works on: a data set spec, the split it was trained
 * with, one subset of that split, and an optional limit. Training and evaluation share
 * this, so "the test set" means the same examples everywhere.
 */
import { UsageError, listChoices } from '../core/errors.js';
import type { Dataset } from '../core/types.js';
import { hashDataset, loadDataSource, splitDataset, takeFirst, type DataSourceSpec, type SplitFractions } from '../data/index.js';

export const DEFAULT_SPLIT: SplitFractions = { train: 0.8, validation: 0.1, test: 0.1 };
export const SUBSETS = ['train', 'validation', 'test', 'all'] as const;
export type SubsetName = (typeof SUBSETS)[number];

export interface DataSelection {
  /** Any data source: `'mnist'`, IDX, an image folder, NPY/NPZ, CSV (see the data layer's `parseDataSpec`). */
  spec: DataSourceSpec;
  subset: SubsetName;
  splitSeed: number;
  fractions?: SplitFractions;
  /** Keep only the first N examples of the subset (the split is already shuffled). */
  limit?: number;
  /**
   * The model's per-example input shape: data of another shape is refused before any model
   * sees it, with the fix for its kind of source (resize a folder, drop CSV columns...).
   */
  expectShape?: readonly (number | null)[];
}

export interface SelectedData {
  full: Dataset;
  splits: { train: Dataset; validation: Dataset; test: Dataset };
  selected: Dataset;
  provenance: { spec: DataSourceSpec; name: string; sha256: string; split: { seed: number; fractions: SplitFractions } };
}

/**
 * @throws UsageError `E_UNKNOWN_SUBSET`, `E_LIMIT`, or whatever the data loader throws.
 * @throws InputError `E_INPUT_SHAPE` when `expectShape` is given and the data has another shape.
 */
export function selectData(selection: DataSelection): SelectedData {
  if (!(SUBSETS as readonly string[]).includes(selection.subset)) {
    throw new UsageError('E_UNKNOWN_SUBSET', `Unknown subset '${selection.subset}'; use ${listChoices(SUBSETS)}.`);
  }
  if (selection.limit !== undefined && !(Number.isInteger(selection.limit) && selection.limit >= 1)) {
    throw new UsageError('E_LIMIT', `Limit must be a whole number >= 1; got ${selection.limit}.`);
  }
  const full = loadDataSource(selection.spec, selection.expectShape ? { expectShape: selection.expectShape } : {});
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

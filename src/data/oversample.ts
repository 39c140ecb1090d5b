/**
 * Class rebalancing and feature statistics for tabular training: rare classes repeated to a
 * share of the largest one, and the per-feature mean and deviation a standardising first
 * layer needs.
 */
import { createRng } from '../core/rng.js';
import type { Dataset } from '../core/types.js';
import { subset } from './subset.js';

/**
 * Repeats the rows of every class but the largest until each holds about `share` of the
 * largest class's count (1: balanced). Training sees rare rows often enough to learn them
 * without letting them outweigh the common rows they sit next to.
 *
 * @example const balanced = oversample(train, 1, 0.1);
 */
export function oversample(ds: Dataset, seed: number, share = 1): Dataset {
  const byClass: number[][] = Array.from({ length: ds.numClasses }, () => []);
  ds.y.forEach((label, i) => byClass[label]?.push(i));
  const largest = Math.max(...byClass.map((rows) => rows.length));
  const order: number[] = [];
  for (const rows of byClass) {
    const count = rows.length === largest ? largest : Math.max(rows.length, Math.round(share * largest));
    for (let k = 0; k < count && rows.length > 0; k++) order.push(rows[k % rows.length] as number);
  }
  createRng(seed).shuffle(order);
  return subset(ds, order, `${ds.name}/balanced`);
}

/**
 * Mean and standard deviation of every feature of 1-D rows (a constant feature gets 1, so
 * dividing by it is safe).
 *
 * @example const { mean, std } = featureMeanStd(train);
 */
export function featureMeanStd(ds: Dataset): { mean: number[]; std: number[] } {
  const d = ds.shape[0] as number;
  const mean = new Array<number>(d).fill(0);
  const sq = new Array<number>(d).fill(0);
  for (let i = 0; i < ds.count; i++) for (let f = 0; f < d; f++) mean[f] = (mean[f] as number) + (ds.x[i * d + f] as number) / ds.count;
  for (let i = 0; i < ds.count; i++)
    for (let f = 0; f < d; f++) sq[f] = (sq[f] as number) + ((ds.x[i * d + f] as number) - (mean[f] as number)) ** 2 / ds.count;
  return { mean, std: sq.map((v) => Math.sqrt(v) || 1) };
}

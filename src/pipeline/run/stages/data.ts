/**
 * Stage `data`: select the plan's data and split, and record their content address. Its inputs include
 * a digest of the data files themselves (IDX files, an image folder's manifest, NPY/NPZ/CSV files), so
 * replacing any of them invalidates the cache.
 */
import { createRequire } from 'node:module';
import { loadDataSource } from '../../../data/index.js';
import { fileDigest } from '../hash.js';
import { selectData } from '../../data-selection.js';
import type { Stage } from '../types.js';
import { requireImageSection } from '../../plan/channels.js';
import { dataSpecOf } from './common.js';

export interface DataOutputs {
  spec: unknown;
  name: string;
  /** sha256 of the full data set (every example, before the split). */
  sha256: string;
  split: { seed: number; fractions: { train: number; validation: number; test: number } };
  counts: { train: number; validation: number; test: number };
  trainLimit?: number;
}

export const dataStage: Stage<DataOutputs> = {
  id: 'data',
  title: 'data',
  version: 1,
  dependsOn: [],
  async inputs({ plan }) {
    const spec = dataSpecOf(plan);
    const files =
      spec === 'mnist' || spec.kind === 'mnist'
        ? { bundled: `mnist@${(createRequire(import.meta.url)('mnist/package.json') as { version: string }).version}` }
        : spec.kind === 'idx'
          ? { images: await fileDigest(spec.images), labels: await fileDigest(spec.labels) }
          : // Other sources hash what they read as they load (a folder's manifest, each file), within their own caps.
            { digests: loadDataSource(spec).provenance?.digests ?? [] };
    return { data: requireImageSection(plan).data, files };
  },
  async run({ plan, progress }) {
    progress(0, 1, 'loading');
    const data = requireImageSection(plan).data;
    const selected = selectData({ spec: dataSpecOf(plan), splitSeed: data.splitSeed, subset: 'train' });
    progress(1, 1, 'hashed');
    return {
      spec: selected.provenance.spec,
      name: selected.provenance.name,
      sha256: selected.provenance.sha256,
      split: selected.provenance.split,
      counts: { train: selected.splits.train.count, validation: selected.splits.validation.count, test: selected.splits.test.count },
      ...(data.trainLimit === undefined ? {} : { trainLimit: data.trainLimit }),
    };
  },
};

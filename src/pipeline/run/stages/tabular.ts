/**
 * Stage `tabular`: the tabular channel end to end. Reads the section's CSV, splits it as
 * every channel splits its data, loads the section's model source and evaluates the first
 * `limit` test rows under every tabular threat (L∞/L2 in feature units, inside the data's
 * bounds), with calibration and latency. Its inputs include the digests of the CSV and the
 * model, so replacing either reruns it.
 */
import { join } from 'node:path';
import { writeJsonFile } from '../../../core/files.js';
import type { Dataset } from '../../../core/types.js';
import { splitDataset, takeFirst, hashDataset } from '../../../data/index.js';
import { loadModelSource } from '../../../models/sources/load.js';
import { requireTabularSection } from '../../plan/channels.js';
import type { Plan } from '../../plan/schema.js';
import { DEFAULT_SPLIT } from '../../data-selection.js';
import { evaluateTabular } from '../evaluate-tabular.js';
import type { Stage } from '../types.js';
import { filesExist } from './common.js';
import { fileDigest } from '../hash.js';
import { describeLoaded, sourceCacheKey } from './model-source.js';
import {
  loadTabularTable,
  measureSourceConstrained,
  runBuiltTabular,
  tabularCsvSource,
  withoutConstrainedThreats,
} from './tabular-built.js';
import type { TabularOutputs } from './tabular-outputs.js';

export type { TabularOutputs } from './tabular-outputs.js';

/** The section's CSV split as every channel splits its data; the evaluated rows are the test split's first `limit`. */
export function tabularSplits(plan: Plan): {
  dataset: Dataset;
  features: string[];
  classes: string[];
  splits: ReturnType<typeof splitDataset>;
} {
  const section = requireTabularSection(plan);
  // The data layer's CSV table: header names as features, `ignoreColumns` dropped.
  const dataset = loadTabularTable({ plan });
  return {
    dataset,
    features: [...(dataset.featureNames ?? [])],
    classes: [...(dataset.classNames ?? Array.from({ length: dataset.numClasses }, (_, i) => String(i)))],
    splits: splitDataset(dataset, { seed: section.splitSeed, fractions: section.split ?? DEFAULT_SPLIT }),
  };
}

export const tabularStage: Stage<TabularOutputs> = {
  id: 'tabular',
  title: 'tabular evaluation',
  version: 1,
  dependsOn: [],
  async inputs({ plan, backend }) {
    const section = requireTabularSection(plan);
    return {
      section,
      data: await fileDigest(tabularCsvSource(plan).path).catch(() => null),
      model: 'source' in section.model ? await sourceCacheKey(section.model.source) : section.model,
      threats: plan.threats.flatMap((t) =>
        t.channel === 'tabular'
          ? [{ id: t.id, norm: t.norm, epsilon: t.epsilon, goal: t.goal, target: t.target, constraints: t.constraints }]
          : [],
      ),
      calibrationBins: plan.evaluation.calibrationBins,
      latencySamples: plan.evaluation.latencySamples,
      seed: plan.seed,
      backend: backend ?? 'default',
    };
  },
  async run(ctx) {
    const { plan } = ctx;
    const section = requireTabularSection(plan);
    if ('architecture' in section.model) return runBuiltTabular(ctx);
    const source = section.model.source;
    ctx.progress(0, 1, 'loading');
    const { dataset, features, classes, splits } = tabularSplits(plan);
    const rows = section.limit < splits.test.count ? takeFirst(splits.test, section.limit) : splits.test;
    const loaded = await loadModelSource(source);
    try {
      const model = describeLoaded(source, loaded);
      const constrained = await measureSourceConstrained(ctx, loaded.classifier);
      const evaluation = await evaluateTabular({
        plan: withoutConstrainedThreats(plan),
        model: loaded.classifier,
        data: rows,
        ...(ctx.pool ? { pool: ctx.pool } : {}),
        onProgress: (done, total, label) => ctx.progress(done, total, label),
      });
      const reports: string[] = [];
      for (const report of evaluation.reports) {
        const path = join(ctx.workDir, `robustness-${report.config.norm}.json`);
        await writeJsonFile(path, report);
        reports.push(ctx.relative(path));
      }
      return {
        data: {
          name: dataset.name,
          sha256: hashDataset(dataset),
          features,
          classes,
          bounds: { min: dataset.bounds.min, max: dataset.bounds.max },
          counts: { train: splits.train.count, validation: splits.validation.count, test: splits.test.count },
        },
        evaluated: { name: rows.name, sha256: hashDataset(rows), count: rows.count },
        model,
        clean: evaluation.clean,
        robust: { ...evaluation.robust, ...constrained?.robust },
        ...(constrained ? { balancedAccuracy: constrained.balancedAccuracy } : {}),
        ece: evaluation.ece,
        reliability: evaluation.reliability,
        latencyP99Ms: evaluation.latencyP99Ms,
        reports,
      };
    } finally {
      loaded.dispose();
    }
  },
  stillValid: (o, ctx) => filesExist(ctx, o.reports),
};

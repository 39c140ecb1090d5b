/**
 * The `tabular` stage for a model Rampart builds (`tabular.model.architecture`): reads the
 * CSV (without its ignored columns), splits it stratified by class, compiles the plan's
 * tabular threats against the header, trains and hardens (tabular-train.ts) and reports the
 * candidate's numbers — clean, balanced and robust accuracy per threat with intervals,
 * calibration and latency — in the shape the evaluation and the gate read.
 */
import { splitDataset, hashDataset, loadCsvTable, type CsvSource } from '../../../data/index.js';
import { calibrationFromLogits, datasetLogits } from '../../../eval/calibration.js';
import { measureLatency } from '../../../eval/latency.js';
import { requireTabularSection } from '../../plan/channels.js';
import { DEFAULT_SPLIT } from '../../data-selection.js';
import type { StageContext } from '../types.js';
import { describeLoaded } from './model-source.js';
import type { Classifier } from '../../../models/classifier.js';
import type { Plan } from '../../plan/schema.js';
import { attackedRows, compileTabularThreats, measureConstrained, type ConstrainedNumbers } from './tabular-constrained.js';
import { trainTabularModels } from './tabular-train.js';
import type { TabularOutputs } from './tabular-outputs.js';

/** The section's CSV as a data set: header names as features, ignored columns dropped. */
export function loadTabularTable(ctx: Pick<StageContext, 'plan'>): ReturnType<typeof loadCsvTable>['dataset'] {
  const source = tabularCsvSource(ctx.plan);
  return loadCsvTable(source.path, source).dataset;
}

/** The section's CSV source, with the section's label column and ignored columns unless the source names its own. */
export function tabularCsvSource(plan: Plan): CsvSource {
  const section = requireTabularSection(plan);
  const spec = section.dataset as CsvSource; // the schema admits only CSV sources
  return {
    ...spec,
    labelColumn: spec.labelColumn ?? section.labelColumn,
    ignoreColumns: spec.ignoreColumns ?? section.ignoreColumns,
  };
}

/**
 * @throws ThreatError `E_TABULAR_CONSTRAINTS` for constraints naming features the CSV lacks (the header is listed).
 * @throws RampartError `E_ATTACK_CONTRACT` when an adversarial example breaks its constraints.
 */
export async function runBuiltTabular(ctx: StageContext): Promise<TabularOutputs> {
  const { plan } = ctx;
  const section = requireTabularSection(plan);
  ctx.progress(0, 1, 'loading');
  const dataset = loadTabularTable(ctx);
  const threats = compileTabularThreats(plan, dataset);
  const splits = splitDataset(dataset, { seed: section.splitSeed, fractions: section.split ?? DEFAULT_SPLIT });
  const { outputs: training, candidate, candidateDir } = await trainTabularModels(ctx, splits, threats);
  try {
    const model = describeLoaded({ kind: 'built', path: candidateDir }, candidate);
    const numbers = (training.hardened ?? training.baseline).numbers;
    const test = splits.test;
    const classifier = candidate.classifier;
    const logits = await datasetLogits(classifier, test, section.batchSize);
    const calibration = calibrationFromLogits(logits, test.y, classifier.numClasses, { bins: plan.evaluation.calibrationBins });
    const latency = await measureLatency({
      model: classifier,
      data: test,
      batchSizes: [1],
      repeats: plan.evaluation.latencySamples,
      warmup: 10,
    });
    const evaluated = attackedRows(plan, test);
    return {
      data: {
        name: dataset.name,
        sha256: hashDataset(dataset),
        features: [...(dataset.featureNames ?? [])],
        classes: [...(dataset.classNames ?? Array.from({ length: dataset.numClasses }, (_, i) => String(i)))],
        bounds: { min: dataset.bounds.min, max: dataset.bounds.max },
        counts: { train: splits.train.count, validation: splits.validation.count, test: test.count },
      },
      evaluated: { name: evaluated.name, sha256: hashDataset(evaluated), count: evaluated.count },
      model,
      training,
      balancedAccuracy: numbers.balancedAccuracy,
      clean: numbers.clean,
      robust: numbers.robust,
      ece: calibration.ece,
      reliability: calibration.reliability.map((b) => ({
        lower: b.lower,
        upper: b.upper,
        count: b.count,
        confidence: b.meanConfidence,
        accuracy: b.accuracy,
      })),
      latencyP99Ms: latency.series[0]?.stats[0]?.p99Ms ?? 0,
      reports: [],
    };
  } finally {
    candidate.dispose();
  }
}

/** The plan without its constrained tabular threats: what the plain L∞/L2 evaluation of your model takes. */
export function withoutConstrainedThreats(plan: Plan): Plan {
  return { ...plan, threats: plan.threats.filter((t) => !(t.channel === 'tabular' && t.constraints)) };
}

/**
 * Your model (`tabular.model.source`) under the plan's constrained tabular threats: the same
 * split, attacked rows and checks as for a model Rampart builds. Undefined when no tabular
 * threat has constraints.
 *
 * @throws ThreatError `E_TABULAR_CONSTRAINTS` for constraints naming features the CSV lacks (the header is listed).
 * @throws RampartError `E_ATTACK_CONTRACT` when an adversarial example breaks its constraints.
 */
export async function measureSourceConstrained(ctx: StageContext, model: Classifier): Promise<ConstrainedNumbers | undefined> {
  const { plan } = ctx;
  if (!plan.threats.some((t) => t.channel === 'tabular' && t.constraints)) return undefined;
  const section = requireTabularSection(plan);
  const dataset = loadTabularTable(ctx);
  const names = new Set(plan.threats.flatMap((t) => (t.channel === 'tabular' && t.constraints ? [t.id] : [])));
  const threats = compileTabularThreats(plan, dataset).filter((t) => names.has(t.threat.id));
  const { test } = splitDataset(dataset, { seed: section.splitSeed, fractions: section.split ?? DEFAULT_SPLIT });
  return measureConstrained(plan, model, test, threats, (line) => ctx.log(line));
}

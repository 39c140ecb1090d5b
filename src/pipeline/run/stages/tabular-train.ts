/**
 * The tabular channel with a model Rampart builds: an MLP trained on the (oversampled)
 * training split as the baseline, hardened with constrained PGD-AT (`tabular-pgd-at` from the
 * objective registry) against the section's training threat, both saved and measured under
 * every tabular threat. The hardened model is the channel's candidate; without `training`
 * the baseline is.
 */
import { join } from 'node:path';
import { featureMeanStd, oversample } from '../../../data/index.js';
import type { Dataset } from '../../../core/types.js';
import { UsageError } from '../../../core/errors.js';
import { buildModel } from '../../../models/architectures.js';
import { loadModelSource } from '../../../models/sources/load.js';
import type { LoadedModel } from '../../../models/sources/types.js';
import { saveClassifierModel } from '../../../models/store.js';
import { TfjsClassifier } from '../../../models/tfjs-classifier.js';
import { createObjective } from '../../../training/objectives/registry.js';
import { trainModel } from '../../../training/trainer.js';
import { requireTabularSection } from '../../plan/channels.js';
import type { Plan } from '../../plan/schema.js';
import type { StageContext } from '../types.js';
import { fileDigest } from '../hash.js';
import { measureConstrained, type CompiledThreat, type ConstrainedNumbers } from './tabular-constrained.js';

/** One trained tabular model: where it is saved and what it measured. */
export interface TrainedTabular {
  modelDir: string;
  sha256: string;
  trainingSeconds: number;
  numbers: ConstrainedNumbers;
}

export interface TabularTrainingOutputs {
  /** Training rows after oversampling. */
  trainRows: number;
  baseline: TrainedTabular;
  hardened?: TrainedTabular;
  /** Hardened minus baseline: clean accuracy and robust accuracy per threat, in [−1, 1]. */
  lift?: { clean: number; robust: Record<string, number> };
}

/**
 * Trains, saves and measures the baseline and (with `training`) the hardened model.
 * Returns the candidate loaded from its saved directory (the caller disposes it), so the
 * rest of the stage describes it exactly as it describes your model.
 *
 * @throws UsageError `E_PLAN_TABULAR_TRAINING` when `training.threat` is not one of the plan's tabular threats.
 * @throws RampartError `E_ATTACK_CONTRACT` when an adversarial example breaks its constraints.
 */
export async function trainTabularModels(
  ctx: StageContext,
  splits: { train: Dataset; test: Dataset },
  threats: readonly CompiledThreat[],
): Promise<{ outputs: TabularTrainingOutputs; candidate: LoadedModel; candidateDir: string }> {
  const plan: Plan = ctx.plan;
  const section = requireTabularSection(plan);
  if (!('architecture' in section.model)) throw new Error('trainTabularModels is for a tabular section with model.architecture');
  const { baseline: baselineConfig, standardize } = section.model;
  const { train, test } = splits;
  const balanced = section.oversample ? oversample(train, plan.seed, section.oversample.share) : train;
  const stats = standardize === 'train' ? featureMeanStd(train) : undefined;
  const trainingThreat = section.training ? threats.find((t) => t.threat.id === section.training?.threat) : undefined;
  if (section.training && !trainingThreat) {
    throw new UsageError(
      'E_PLAN_TABULAR_TRAINING',
      `tabular.training.threat '${section.training.threat}' is not a tabular threat of the plan; use one of ` +
        `${threats.map((t) => `'${t.threat.id}'`).join(', ') || '(none: add a tabular threat)'}.`,
    );
  }
  const runs: Array<{ kind: 'baseline' | 'hardened' }> = [
    { kind: 'baseline' },
    ...(section.training ? [{ kind: 'hardened' as const }] : []),
  ];
  const results: Partial<Record<'baseline' | 'hardened', TrainedTabular>> = {};
  for (const [index, { kind }] of runs.entries()) {
    ctx.progress(index, runs.length, `training the ${kind} model`);
    const net = buildModel('mlp', {
      inputShape: train.shape,
      numClasses: train.numClasses,
      seed: plan.seed,
      ...(stats ? { standardize: stats } : {}),
    });
    try {
      const config = kind === 'hardened' && section.training ? section.training : baselineConfig;
      const training = section.training;
      const objective =
        kind === 'hardened' && training && trainingThreat
          ? createObjective('tabular-pgd-at', {
              threat: trainingThreat.threat,
              steps: training.steps,
              mixRatio: training.mixRatio,
              ...(training.stepSize === undefined ? {} : { stepSize: training.stepSize }),
              ...(training.attackClasses ? { attackClasses: training.attackClasses } : {}),
            })
          : undefined;
      const started = Date.now();
      await trainModel({
        model: net,
        train: balanced,
        epochs: config.epochs,
        batchSize: config.batchSize,
        optimizer: config.optimizer,
        learningRate: config.learningRate,
        ...(config.momentum === undefined ? {} : { momentum: config.momentum }),
        schedule: config.schedule,
        seed: plan.seed,
        ...(objective ? { objective } : {}),
      });
      const trainingSeconds = (Date.now() - started) / 1000;
      ctx.log(`${kind}: trained in ${trainingSeconds.toFixed(1)} s`);
      const modelDir = join(ctx.workDir, `tabular-${kind}`);
      await saveClassifierModel(net, modelDir, {
        architecture: 'mlp',
        inputShape: [...train.shape],
        numClasses: train.numClasses,
        bounds: { min: train.bounds.min, max: train.bounds.max },
        training: { kind, ...(objective ? objective.config : {}), epochs: config.epochs },
      } as Parameters<typeof saveClassifierModel>[2]);
      const classifier = new TfjsClassifier(net, { id: `tabular-${kind}`, bounds: train.bounds });
      const numbers = await measureConstrained(plan, classifier, test, threats, (line) => ctx.log(`${kind}: ${line}`));
      const pct = (v: number): string => `${(100 * v).toFixed(1)}%`;
      const robust = Object.entries(numbers.robust).map(([id, r]) => `${id} ${pct(r.value)} (n=${r.n})`);
      ctx.log(`${kind}: clean ${pct(numbers.clean.value)}, balanced ${pct(numbers.balancedAccuracy)}; robust ${robust.join(', ')}`);
      results[kind] = {
        modelDir: ctx.relative(modelDir),
        sha256: await fileDigest(join(modelDir, 'weights.bin')),
        trainingSeconds,
        numbers,
      };
    } finally {
      net.dispose();
    }
  }
  const baseline = results.baseline as TrainedTabular;
  const hardened = results.hardened;
  const lift = hardened
    ? {
        clean: hardened.numbers.clean.value - baseline.numbers.clean.value,
        robust: Object.fromEntries(
          Object.entries(hardened.numbers.robust).map(([id, r]) => [id, r.value - (baseline.numbers.robust[id]?.value ?? 0)]),
        ),
      }
    : undefined;
  if (lift) {
    const points = (v: number): string => `${v >= 0 ? '+' : ''}${(100 * v).toFixed(1)}`;
    const robust = Object.entries(lift.robust).map(([id, v]) => `${id} ${points(v)}`);
    ctx.log(`hardening: clean ${points(lift.clean)} points; robust ${robust.join(', ')} points`);
  }
  const candidateDir = join(ctx.workDir, hardened ? 'tabular-hardened' : 'tabular-baseline');
  const candidate = await loadModelSource({ kind: 'built', path: candidateDir });
  return {
    outputs: { trainRows: balanced.count, baseline, ...(hardened ? { hardened } : {}), ...(lift ? { lift } : {}) },
    candidate,
    candidateDir,
  };
}

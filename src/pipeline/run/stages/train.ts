/**
 * Stages `baseline` (standard training) and `harden` (the plan's adversarial method with
 * its phased schedule). Both train into their key-named work directory with `resume`, so
 * a run killed mid-training continues from the last finished epoch.
 */
import { join } from 'node:path';
import { fileDigest } from '../hash.js';
import { runTraining, type TrainRunOptions } from '../../train-run.js';
import { builtImageSection, type BuiltImageSection } from '../../plan/channels.js';
import type { ImageThreatScenario, Plan } from '../../plan/schema.js';
import type { ObjectiveOptions } from '../../../training/objectives/registry.js';
import type { Stage, StageContext } from '../types.js';
import { dataSpecOf, filesExist } from './common.js';
import { dataStage } from './data.js';
import {
  ADVERSARIAL_SETS,
  adversarialInputs,
  mixAdversarial,
  setsOfChannel,
  type ResolvedAdversarialSet,
} from '../../refresh-adversarial.js';

export interface TrainOutputs {
  /** The saved model, relative to the run directory. */
  modelDir: string;
  /**
   * Digest of the weights (weights.bin). model.json is left out: it carries a creation
   * time, and a resumed run that ends with the same weights is the same model.
   */
  sha256: string;
  trainReport: string;
  method: string;
  testAccuracy: number;
  epochs: number;
  selectedEpoch: number;
  selection: 'last' | 'best-robust';
  bestRobustAccuracy?: number;
  trainingMs: number;
}

type Optimisation = BuiltImageSection['baseline'];

/** The plan's image adversarial sets (text sets go to the text model's training). */
const imageSets = (extras: Record<string, unknown>): ResolvedAdversarialSet[] =>
  setsOfChannel(extras[ADVERSARIAL_SETS] as ResolvedAdversarialSet[] | undefined, 'image');

function dataOf(plan: Plan): TrainRunOptions['data'] {
  const { data } = builtImageSection(plan);
  return {
    spec: dataSpecOf(plan),
    splitSeed: data.splitSeed,
    ...(data.trainLimit === undefined ? {} : { limit: data.trainLimit }),
  };
}

function optimisation(
  o: Optimisation,
  seed: number,
): Pick<TrainRunOptions, 'epochs' | 'batchSize' | 'optimizer' | 'learningRate' | 'momentum' | 'schedule' | 'seed'> {
  return {
    epochs: o.epochs,
    batchSize: o.batchSize,
    optimizer: o.optimizer,
    learningRate: o.learningRate,
    schedule: o.schedule,
    seed,
    ...(o.momentum === undefined ? {} : { momentum: o.momentum }),
  };
}

/** The image threat the plan trains against. */
export function trainingThreat(plan: Plan): ImageThreatScenario | undefined {
  const t = plan.threats.find((s) => s.id === plan.training?.threat);
  return t && t.channel === 'image' ? t : undefined;
}

async function train(ctx: StageContext, options: Omit<TrainRunOptions, 'outDir' | 'onBatch'>): Promise<TrainOutputs> {
  const { report, model } = await runTraining({
    ...options,
    outDir: ctx.workDir,
    resume: true,
    ...(ctx.backend === undefined ? {} : { backend: ctx.backend }),
    ...(ctx.pool ? { pool: ctx.pool } : {}),
    onBatch: (p) =>
      ctx.progress((p.epoch - 1) * p.batches + p.batch, p.epochs * p.batches, `epoch ${p.epoch}/${p.epochs} loss ${p.loss.toFixed(4)}`),
    onEpoch: (e) =>
      ctx.log(
        `epoch ${e.epoch}: loss ${e.loss.toFixed(4)}, validation ${((e.validationAccuracy ?? 0) * 100).toFixed(1)}%${e.robustAccuracy === undefined ? '' : `, robust ${(e.robustAccuracy * 100).toFixed(1)}%`}, ${(e.durationMs / 1000).toFixed(1)} s`,
      ),
  });
  model.dispose();
  const t = report.training;
  return {
    modelDir: ctx.relative(report.modelDir),
    sha256: await fileDigest(join(report.modelDir, 'weights.bin')),
    trainReport: ctx.relative(join(ctx.workDir, 'train-report.json')),
    method: t.config.objective.id,
    testAccuracy: report.testAccuracy,
    epochs: t.epochs.length,
    selectedEpoch: t.selectedEpoch,
    selection: t.selection,
    ...(t.best ? { bestRobustAccuracy: t.best.robustAccuracy } : {}),
    trainingMs: t.durationMs,
  };
}

const stillValid = (outputs: TrainOutputs, ctx: StageContext): Promise<boolean> =>
  filesExist(ctx, [join(outputs.modelDir, 'model.json'), join(outputs.modelDir, 'weights.bin')]);

export const baselineStage: Stage<TrainOutputs> = {
  id: 'baseline',
  title: 'baseline training',
  version: 1,
  dependsOn: [dataStage.id],
  inputs: ({ plan, backend }) => ({
    data: dataOf(plan),
    architecture: builtImageSection(plan).architecture,
    training: builtImageSection(plan).baseline,
    seed: plan.seed,
    backend: backend ?? 'default',
  }),
  run: (ctx) =>
    train(ctx, {
      data: dataOf(ctx.plan),
      architecture: builtImageSection(ctx.plan).architecture,
      method: 'standard',
      ...optimisation(builtImageSection(ctx.plan).baseline, ctx.plan.seed),
    }),
  stillValid,
  volatile: ['trainingMs'],
};

/** The training threat when it is L∞ or L2: what PGD-based objectives and the robust validation take. */
function denseThreat(t: ImageThreatScenario | undefined): (ImageThreatScenario & { norm: 'linf' | 'l2' }) | undefined {
  return t && (t.norm === 'linf' || t.norm === 'l2') ? { ...t, norm: t.norm } : undefined;
}

/** The hardening objective's options from the plan: the training threat as each method takes it. */
export function methodOptions(plan: Plan): ObjectiveOptions {
  const t = builtImageSection(plan).training;
  const threat = trainingThreat(plan);
  const dense = denseThreat(threat);
  const options: ObjectiveOptions = {
    ...(dense ? { threat: { id: dense.id, norm: dense.norm, epsilon: dense.epsilon } } : {}),
    // The sparse methods' budget is the threat's: a patch's or occluder's side, or k pixels.
    ...((t.method === 'patch-at' || t.method === 'occlusion-at') && threat ? { size: threat.epsilon } : {}),
    ...(t.method === 'sparse-at' && threat ? { pixels: threat.epsilon } : {}),
    ...(t.steps === undefined ? {} : { steps: t.steps }),
    ...(t.stepSize === undefined ? {} : { stepSize: t.stepSize }),
    ...(t.mixRatio === undefined ? {} : { mixRatio: t.mixRatio }),
    ...(t.beta === undefined ? {} : { beta: t.beta }),
    ...(t.sigma === undefined ? {} : { sigma: t.sigma }),
    ...(t.awp ? { awp: true } : {}),
  };
  // Noisy inputs stay valid images, as the evaluation's attacks keep them.
  if (t.method === 'noise') options.bounds = { min: 0, max: 1 };
  return options;
}

/** A `diversified` plan's ensemble: `members` whole models, or `heads` on one shared trunk (the plan check requires one). */
export function ensembleOf(training: BuiltImageSection['training']): Pick<TrainRunOptions, 'ensemble'> {
  const members = training.heads ?? training.members;
  if (members === undefined) return {};
  const diversity = training.diversity === undefined ? {} : { diversity: training.diversity };
  return { ensemble: { members, ...diversity, ...(training.heads === undefined ? {} : { heads: true }) } };
}

export const hardenStage: Stage<TrainOutputs> = {
  id: 'harden',
  title: 'adversarial training',
  // 2: diversified ensembles train each member on its own cross-entropy too.
  version: 2,
  dependsOn: [dataStage.id],
  inputs: ({ plan, backend, extras }) => ({
    data: dataOf(plan),
    architecture: builtImageSection(plan).architecture,
    training: builtImageSection(plan).training,
    threat: trainingThreat(plan) ?? null,
    seed: plan.seed,
    backend: backend ?? 'default',
    ...(plan.data?.adversarial ? { adversarial: adversarialInputs(imageSets(extras)) } : {}),
  }),
  run: (ctx) => {
    const { plan } = ctx;
    const { architecture, training } = builtImageSection(plan);
    const dense = denseThreat(trainingThreat(plan));
    const rv = training.robustValidation;
    const sets = imageSets(ctx.extras);
    return train(ctx, {
      ...(sets.length > 0 ? { mixTrain: (data) => mixAdversarial(data, sets) } : {}),
      data: dataOf(plan),
      architecture,
      method: training.method,
      methodOptions: methodOptions(plan),
      ...(training.method === 'diversified' ? ensembleOf(training) : {}),
      ...optimisation(training, plan.seed),
      ...(training.phases
        ? {
            curriculum: training.phases.map((p) => ({
              epochs: p.epochs,
              epsilonScale: p.epsilonScale,
              ...(p.steps === undefined ? {} : { steps: p.steps }),
            })),
          }
        : {}),
      ...(rv === false
        ? { robustValidation: false as const }
        : dense
          ? {
              robustValidation: { threat: { norm: dense.norm, epsilon: dense.epsilon }, steps: rv?.steps ?? 10, limit: rv?.limit ?? 500 },
            }
          : {}),
    });
  },
  stillValid,
  volatile: ['trainingMs'],
};

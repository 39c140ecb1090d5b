/**
 * The one training loop. Objectives decide what a batch's loss is (standard, and the
 * adversarial ones); the loop owns shuffling, batching, the learning-rate schedule,
 * progress, clean and robust validation, best-robust selection, the catastrophic-
 * overfitting guard, per-epoch checkpoints and resuming a killed run.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { GradientError, UsageError } from '../core/errors.js';
import { createRng } from '../core/rng.js';
import { hashDataset } from '../data/hash.js';
import type { Dataset } from '../core/types.js';
import { batches as batchesOf } from '../data/batches.js';
import { assertBatchShape } from '../models/classifier.js';
import { accuracyOf, predictClasses } from '../models/predict.js';
import { TfjsClassifier } from '../models/tfjs-classifier.js';
import { loadModel, saveModel } from '../models/io/index.js';
import { createOptimizer, setLearningRate, type OptimizerId } from './optimizers.js';
import { makeSchedule, type ScheduleSpec } from './schedules.js';
import { standardObjective } from './objectives/standard.js';
import type { Objective } from './objectives/types.js';
import { pgdAccuracy, snapshotWeights, type RobustCheckConfig } from './robust-check.js';
import { exposureAt, validateCurriculum, type CurriculumPhase, type Exposure } from './curriculum.js';
import { randomShift, validateAugment, type AugmentConfig } from './augment.js';
import { loadTrainerState, saveTrainerState, type TrainerProgress } from './state.js';
import { applyPoolGradients, type GradientSharder, type GradientShards, type ShardedGradients } from './gradient-sharder.js';

export interface TrainConfig {
  epochs: number;
  batchSize: number;
  optimizer: OptimizerId;
  learningRate: number;
  /** SGD momentum; ignored by Adam. */
  momentum?: number;
  schedule?: ScheduleSpec;
  /** Phased exposure: the threat's epsilon (and attack steps) per phase of epochs. */
  curriculum?: CurriculumPhase[];
  /** Random translations of each training image (more data for robust generalisation). */
  augment?: AugmentConfig;
  seed: number;
}

export interface BatchProgress {
  epoch: number;
  epochs: number;
  batch: number;
  batches: number;
  loss: number;
  learningRate: number;
}

export interface EpochSummary {
  epoch: number;
  loss: number;
  learningRate: number;
  validationAccuracy?: number;
  /** The curriculum's exposure in this epoch, when there is one. */
  exposure?: Exposure;
  /** PGD accuracy on the validation set, when robust validation is on. */
  robustAccuracy?: number;
  /** PGD accuracy on the guard's training subset, when the overfitting guard is on. */
  guardAccuracy?: number;
  durationMs: number;
  checkpoint?: string;
}

export interface OverfitGuard extends RobustCheckConfig {
  /** A training subset whose PGD accuracy is watched. */
  data: Dataset;
  /** Stop and roll back when PGD accuracy falls this far (absolute) below its best; default 0.2. */
  drop?: number;
}

export interface TrainOptions extends TrainConfig {
  model: tf.LayersModel;
  train: Dataset;
  validation?: Dataset;
  objective?: Objective;
  /** PGD accuracy on `validation` every epoch; the best-robust weights are kept and restored at the end. */
  robustValidation?: RobustCheckConfig;
  /** Catches catastrophic overfitting (single-step training): stop and restore the last good epoch. */
  overfitGuard?: OverfitGuard;
  /**
   * Writes `epoch-NNN/` (model.json + weights.bin) after every epoch, `best/` for the
   * best-robust epoch, and `state/` to resume from.
   */
  checkpointDir?: string;
  /** Continue from `checkpointDir/state` when present; default true. */
  resume?: boolean;
  /** Stored with each checkpoint (bounds, architecture, data hash...). */
  metadata?: Record<string, unknown>;
  /**
   * Synchronous data parallel: workers compute the gradients of their shard of each
   * batch, this thread averages them, applies one optimizer update and broadcasts the
   * weights. Objectives from `createObjective` run whole in the workers, their inner
   * attack included (`spec`); other objectives prepare here and share only the weight
   * gradients when their loss is plain cross-entropy (`poolLoss`). Adversarial weight
   * perturbation runs without the pool. Any `GradientSharder` will do (the worker pool is one).
   */
  pool?: GradientSharder;
  onBatch?: (progress: BatchProgress) => void;
  onEpoch?: (summary: EpochSummary) => void;
}

export interface TrainReport {
  config: TrainConfig & { objective: { id: string; config: Readonly<object> } };
  epochs: EpochSummary[];
  /** The epoch whose weights the model holds at the end. */
  selectedEpoch: number;
  selection: 'last' | 'best-robust';
  best?: { epoch: number; robustAccuracy: number };
  stopped?: { epoch: number; reason: string };
  /** Epochs done before this call, when it resumed a killed run. */
  resumedFrom?: number;
  durationMs: number;
}

function validateConfig(c: TrainConfig): void {
  if (!Number.isInteger(c.epochs) || c.epochs < 1) throw new UsageError('E_EPOCHS', `Epochs must be a whole number >= 1; got ${c.epochs}.`);
  if (!Number.isInteger(c.batchSize) || c.batchSize < 1)
    throw new UsageError('E_BATCH_SIZE', `Batch size must be a whole number >= 1; got ${c.batchSize}.`);
  if (!(Number.isFinite(c.learningRate) && c.learningRate > 0))
    throw new UsageError('E_LEARNING_RATE', `Learning rate must be a number > 0; got ${c.learningRate}.`);
  if (c.curriculum) validateCurriculum(c.curriculum);
  if (c.augment) validateAugment(c.augment);
}

/** Seeds derive from (seed, epoch), so a resumed run shuffles and attacks exactly as an uninterrupted one. */
function epochSeed(seed: number, epoch: number): number {
  return createRng(seed * 1_000_003 + epoch).seed();
}

function configHash(config: TrainConfig, objective: Objective, options: TrainOptions): string {
  const { epochs, batchSize, optimizer, learningRate, momentum, schedule, seed, curriculum, augment } = config;
  const identity = {
    epochs,
    batchSize,
    optimizer,
    learningRate,
    momentum,
    schedule,
    seed,
    curriculum,
    // Absent, not null, without augmentation: runs checkpointed before the option existed still resume.
    ...(augment ? { augment } : {}),
    objective: { id: objective.id, config: objective.config },
    train: hashDataset(options.train),
    robustValidation: options.robustValidation ?? null,
    guard: options.overfitGuard ? { ...options.overfitGuard, data: hashDataset(options.overfitGuard.data) } : null,
  };
  return createHash('sha256').update(JSON.stringify(identity)).digest('hex');
}

/** Checkpoint metadata must be plain JSON; measurements that were not taken are left out. */
function definedOnly(values: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined));
}

function disposeAll(tensors: tf.Tensor[] | undefined): void {
  tensors?.forEach((t) => t.dispose());
}

/**
 * Trains a model in place. With `checkpointDir`, a killed run rerun with the same options
 * continues from its last completed epoch and ends with the same weights.
 *
 * @throws UsageError for a bad config; InputError `E_INPUT_SHAPE` when the data does not fit the model;
 *   GradientError `E_LOSS_NONFINITE` when the loss diverges; DataError `E_RESUME_MISMATCH`
 *   when `checkpointDir` holds a different run.
 * @example
 * const report = await trainModel({ model, train, validation, epochs: 3, batchSize: 64, optimizer: 'adam', learningRate: 1e-3, seed: 1 });
 */
export async function trainModel(options: TrainOptions): Promise<TrainReport> {
  validateConfig(options);
  const started = Date.now();
  const { model, train, epochs, batchSize } = options;
  // An empty validation split (a plan's split may give it 0%) measures nothing: no accuracy of 0.
  const validation = options.validation && options.validation.count > 0 ? options.validation : undefined;
  const classifier = new TfjsClassifier(model);
  assertBatchShape(classifier, [train.count, ...train.shape], `training set '${train.name}'`);
  const objective = options.objective ?? standardObjective();
  const schedule = makeSchedule(options.schedule ?? { kind: 'constant' }, options.learningRate, epochs);
  const optimizer = createOptimizer(options.optimizer, options.learningRate, options.momentum);
  const batches = Math.ceil(train.count / batchSize);
  const weights = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const {
    model: _m,
    train: _t,
    validation: _v,
    objective: _o,
    onBatch: _b,
    onEpoch: _e,
    checkpointDir: _c,
    metadata: _md,
    robustValidation: _r,
    overfitGuard: _g,
    resume: _re,
    pool: _p,
    ...config
  } = options;
  const hash = configHash(config, objective, options);
  const stateDir = options.checkpointDir ? join(options.checkpointDir, 'state') : undefined;

  let progress: TrainerProgress<EpochSummary> = { version: 1, configHash: hash, epochsDone: 0, summaries: [] };
  let resumedFrom: number | undefined;
  let bestWeights: tf.Tensor[] | undefined;
  let guardBest = -Infinity;
  let lastGoodWeights: tf.Tensor[] | undefined;
  let shards: GradientShards | undefined;
  // With a spec the workers run the whole objective on their shards (the inner attack
  // too); with a plain cross-entropy loss they at least share the weight gradients.
  const pool = options.pool && (objective.spec !== undefined || objective.poolLoss === 'standard') ? options.pool : undefined;

  try {
    if (stateDir && options.resume !== false) {
      const restored = await loadTrainerState<EpochSummary>(stateDir, model, optimizer, hash);
      if (restored) {
        progress = restored;
        resumedFrom = restored.epochsDone;
        if (restored.best && options.checkpointDir) {
          const best = await loadModel(join(options.checkpointDir, 'best'));
          bestWeights = snapshotWeights(best.model);
          best.model.dispose();
        }
        for (const s of restored.summaries) if (s.guardAccuracy !== undefined) guardBest = Math.max(guardBest, s.guardAccuracy);
      }
    }
    if (options.overfitGuard && !progress.stopped) lastGoodWeights = snapshotWeights(model);
    if (pool && !progress.stopped && progress.epochsDone < epochs) shards = await pool.openGradients(model, classifier.bounds);

    for (let epoch = progress.epochsDone; epoch < epochs && !progress.stopped; epoch++) {
      const epochStarted = Date.now();
      const rng = createRng(epochSeed(options.seed, epoch));
      const exposure = options.curriculum ? exposureAt(options.curriculum, epoch) : undefined;
      let lossSum = 0;
      let rate = options.learningRate;
      let b = 0;
      for (const batchData of batchesOf(train, batchSize, { shuffle: true, seed: rng.seed() })) {
        rate = schedule(epoch, b / batches);
        setLearningRate(optimizer, rate);
        // The shift's seed comes from (seed, epoch, batch), not from `rng`: runs without augmentation keep their seeds.
        const data = options.augment
          ? {
              ...batchData,
              x: randomShift(batchData.x, batchData.count, train.shape, options.augment, epochSeed(options.seed, epoch) ^ (b * 0x9e3779b1)),
            }
          : batchData;
        const x = tf.tensor(data.x, [data.count, ...train.shape], 'float32');
        const y = tf.tensor1d(data.y, 'int32');
        const batch = { x, y, epoch, step: epoch * batches + b, seed: rng.seed(), ...(exposure ? { exposure } : {}) };
        let prepared: tf.Tensor | undefined;
        try {
          let value: number;
          if (shards) {
            const shape = [data.count, ...train.shape];
            let gradients: ShardedGradients;
            if (objective.spec) {
              const context = { epoch, step: batch.step, seed: batch.seed, ...(exposure ? { exposure } : {}) };
              gradients = await shards.gradients({ x: data.x, labels: data.y, shape, objective: objective.spec, batch: context });
            } else {
              prepared = objective.prepare ? await objective.prepare(model, batch) : x;
              const px = prepared === x ? data.x : ((await prepared.data()) as Float32Array);
              gradients = await shards.gradients({ x: px, labels: data.y, shape });
            }
            value = gradients.loss;
            // Checked before the update, so a diverged step never reaches the weights.
            if (Number.isFinite(value)) {
              applyPoolGradients(optimizer, gradients);
              objective.afterUpdate?.(model, batch);
              await shards.setWeights(model);
            }
          } else {
            prepared = objective.prepare ? await objective.prepare(model, batch) : x;
            const input = prepared;
            let cost: tf.Scalar;
            try {
              cost = tf.tidy(() => optimizer.minimize(() => objective.loss(model, batch, input), true, weights) ?? tf.scalar(NaN));
            } finally {
              // Always, even when the step throws: weight perturbation (AWP) must be removed.
              objective.afterUpdate?.(model, batch);
            }
            value = (await cost.data())[0] ?? NaN;
            cost.dispose();
          }
          if (!Number.isFinite(value)) {
            throw new GradientError(
              'E_LOSS_NONFINITE',
              `Training loss became ${value} at epoch ${epoch + 1}, batch ${b + 1}; lower the learning rate (now ${rate}).`,
            );
          }
          lossSum += value * data.count;
          b++;
          options.onBatch?.({ epoch: epoch + 1, epochs, batch: b, batches, loss: value, learningRate: rate });
        } finally {
          if (prepared && prepared !== x) prepared.dispose();
          x.dispose();
          y.dispose();
        }
      }
      const summary: EpochSummary = {
        epoch: epoch + 1,
        loss: lossSum / train.count,
        learningRate: rate,
        durationMs: 0,
        ...(exposure ? { exposure } : {}),
      };
      if (validation) summary.validationAccuracy = accuracyOf(await predictClasses(classifier, validation), validation.y);
      if (validation && options.robustValidation) {
        summary.robustAccuracy = await pgdAccuracy(classifier, validation, options.robustValidation, epochSeed(options.seed, epoch) + 17);
        if (!progress.best || summary.robustAccuracy > progress.best.robustAccuracy) {
          progress.best = { epoch: epoch + 1, robustAccuracy: summary.robustAccuracy };
          disposeAll(bestWeights);
          bestWeights = snapshotWeights(model);
          if (options.checkpointDir)
            await saveModel(model, join(options.checkpointDir, 'best'), {
              ...options.metadata,
              epoch: epoch + 1,
              robustAccuracy: summary.robustAccuracy,
            });
        }
      }
      if (options.overfitGuard) {
        const guard = options.overfitGuard;
        summary.guardAccuracy = await pgdAccuracy(classifier, guard.data, guard, epochSeed(options.seed, epoch) + 29);
        if (summary.guardAccuracy < guardBest - (guard.drop ?? 0.2)) {
          // Catastrophic overfitting: PGD accuracy collapsed in one epoch. Undo the epoch and stop.
          model.setWeights(lastGoodWeights ?? model.getWeights());
          if (shards) await shards.setWeights(model);
          progress.stopped = {
            epoch: epoch + 1,
            reason: `PGD accuracy on the training subset fell from ${guardBest.toFixed(3)} to ${summary.guardAccuracy.toFixed(3)} (catastrophic overfitting); restored the weights of epoch ${epoch}`,
          };
        } else {
          guardBest = Math.max(guardBest, summary.guardAccuracy);
          disposeAll(lastGoodWeights);
          lastGoodWeights = snapshotWeights(model);
        }
      }
      if (options.checkpointDir) {
        const dir = join(options.checkpointDir, `epoch-${String(epoch + 1).padStart(3, '0')}`);
        await saveModel(
          model,
          dir,
          definedOnly({
            ...options.metadata,
            epoch: epoch + 1,
            loss: summary.loss,
            validationAccuracy: summary.validationAccuracy,
            robustAccuracy: summary.robustAccuracy,
          }),
        );
        summary.checkpoint = dir;
      }
      summary.durationMs = Date.now() - epochStarted;
      progress.summaries.push(summary);
      progress.epochsDone = epoch + 1;
      if (stateDir) await saveTrainerState(stateDir, model, optimizer, progress);
      options.onEpoch?.(summary);
    }
    const useBest = bestWeights !== undefined && progress.best !== undefined;
    if (useBest) model.setWeights(bestWeights as tf.Tensor[]);
    const last = progress.stopped ? progress.stopped.epoch - 1 : progress.epochsDone;
    return {
      config: { ...config, objective: { id: objective.id, config: objective.config } },
      epochs: progress.summaries,
      selectedEpoch: useBest ? (progress.best?.epoch ?? last) : last,
      selection: useBest ? 'best-robust' : 'last',
      ...(progress.best ? { best: progress.best } : {}),
      ...(progress.stopped ? { stopped: progress.stopped } : {}),
      ...(resumedFrom !== undefined ? { resumedFrom } : {}),
      durationMs: Date.now() - started,
    };
  } finally {
    await shards?.close();
    optimizer.dispose();
    disposeAll(bestWeights);
    disposeAll(lastGoodWeights);
  }
}

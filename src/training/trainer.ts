/**
 * The one training loop. Objectives decide what a batch's loss is (standard, and the
 * adversarial ones); the loop owns shuffling, batching, the learning-rate schedule,
 * progress, validation and per-epoch checkpoints.
 */
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { GradientError, UsageError } from '../core/errors.js';
import { createRng } from '../core/rng.js';
import type { Dataset } from '../core/types.js';
import { batches as batchesOf } from '../data/batches.js';
import { assertBatchShape } from '../models/classifier.js';
import { accuracyOf, predictClasses } from '../models/predict.js';
import { TfjsClassifier } from '../models/tfjs-classifier.js';
import { saveModel } from '../models/io/index.js';
import { createOptimizer, setLearningRate, type OptimizerId } from './optimizers.js';
import { makeSchedule, type ScheduleSpec } from './schedules.js';
import { standardObjective } from './objectives/standard.js';
import type { Objective } from './objectives/types.js';

export interface TrainConfig {
  epochs: number;
  batchSize: number;
  optimizer: OptimizerId;
  learningRate: number;
  /** SGD momentum; ignored by Adam. */
  momentum?: number;
  schedule?: ScheduleSpec;
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
  durationMs: number;
  checkpoint?: string;
}

export interface TrainOptions extends TrainConfig {
  model: tf.LayersModel;
  train: Dataset;
  validation?: Dataset;
  objective?: Objective;
  /** Writes `epoch-NNN/` (model.json + weights.bin) here after every epoch. */
  checkpointDir?: string;
  /** Stored with each checkpoint (bounds, architecture, data hash...). */
  metadata?: Record<string, unknown>;
  onBatch?: (progress: BatchProgress) => void;
  onEpoch?: (summary: EpochSummary) => void;
}

export interface TrainReport {
  config: TrainConfig & { objective: { id: string; config: Readonly<Record<string, unknown>> } };
  epochs: EpochSummary[];
  durationMs: number;
}

function validateConfig(c: TrainConfig): void {
  if (!Number.isInteger(c.epochs) || c.epochs < 1) throw new UsageError('E_EPOCHS', `Epochs must be a whole number >= 1; got ${c.epochs}.`);
  if (!Number.isInteger(c.batchSize) || c.batchSize < 1) throw new UsageError('E_BATCH_SIZE', `Batch size must be a whole number >= 1; got ${c.batchSize}.`);
  if (!(Number.isFinite(c.learningRate) && c.learningRate > 0)) throw new UsageError('E_LEARNING_RATE', `Learning rate must be a number > 0; got ${c.learningRate}.`);
}

/**
 * Trains a model in place.
 *
 * @throws UsageError for a bad config; InputError `E_INPUT_SHAPE` when the data does not fit the model.
 * @example
 * const report = await trainModel({ model, train, validation, epochs: 3, batchSize: 64, optimizer: 'adam', learningRate: 1e-3, seed: 1 });
 */
export async function trainModel(options: TrainOptions): Promise<TrainReport> {
  validateConfig(options);
  const started = Date.now();
  const { model, train, validation, epochs, batchSize } = options;
  const classifier = new TfjsClassifier(model);
  assertBatchShape(classifier, [train.count, ...train.shape], `training set '${train.name}'`);
  const objective = options.objective ?? standardObjective();
  const schedule = makeSchedule(options.schedule ?? { kind: 'constant' }, options.learningRate, epochs);
  const optimizer = createOptimizer(options.optimizer, options.learningRate, options.momentum);
  const rng = createRng(options.seed);
  const batches = Math.ceil(train.count / batchSize);
  const summaries: EpochSummary[] = [];
  const weights = model.trainableWeights.map((w) => w.read() as tf.Variable);

  try {
    for (let epoch = 0; epoch < epochs; epoch++) {
      const epochStarted = Date.now();
      let lossSum = 0;
      let rate = options.learningRate;
      let b = 0;
      for (const data of batchesOf(train, batchSize, { shuffle: true, seed: rng.seed() })) {
        rate = schedule(epoch, b / batches);
        setLearningRate(optimizer, rate);
        const x = tf.tensor(data.x, [data.count, ...train.shape], 'float32');
        const y = tf.tensor1d(data.y, 'int32');
        const batch = { x, y, epoch, step: epoch * batches + b, seed: rng.seed() };
        let prepared: tf.Tensor | undefined;
        try {
          prepared = objective.prepare ? await objective.prepare(model, batch) : x;
          const input = prepared;
          const cost = tf.tidy(() => optimizer.minimize(() => objective.loss(model, batch, input), true, weights) ?? tf.scalar(NaN));
          const value = (await cost.data())[0] ?? NaN;
          cost.dispose();
          if (!Number.isFinite(value)) {
            throw new GradientError('E_LOSS_NONFINITE', `Training loss became ${value} at epoch ${epoch + 1}, batch ${b + 1}; lower the learning rate (now ${rate}).`);
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
      const summary: EpochSummary = { epoch: epoch + 1, loss: lossSum / train.count, learningRate: rate, durationMs: Date.now() - epochStarted };
      if (validation) summary.validationAccuracy = accuracyOf(await predictClasses(classifier, validation), validation.y);
      if (options.checkpointDir) {
        const dir = join(options.checkpointDir, `epoch-${String(epoch + 1).padStart(3, '0')}`);
        await saveModel(model, dir, { ...options.metadata, epoch: epoch + 1, loss: summary.loss, validationAccuracy: summary.validationAccuracy });
        summary.checkpoint = dir;
      }
      summaries.push(summary);
      options.onEpoch?.(summary);
    }
  } finally {
    optimizer.dispose();
  }
  const { model: _m, train: _t, validation: _v, objective: _o, onBatch: _b, onEpoch: _e, checkpointDir: _c, metadata: _md, ...config } = options;
  return { config: { ...config, objective: { id: objective.id, config: objective.config } }, epochs: summaries, durationMs: Date.now() - started };
}

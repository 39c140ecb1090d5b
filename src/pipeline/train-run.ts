/**
 * A complete training run as one function: select data, build the architecture, train
 * with checkpoints, save the final model with its provenance, write the run report.
 * `rampart train` and the bundled example are thin shells over it.
 */
import { join } from 'node:path';
import { writeJsonFile } from '../core/files.js';
import { RAMPART_VERSION } from '../core/version.js';
import { initEngine, type EngineInfo } from '../engine/backend.js';
import { buildModel } from '../models/architectures.js';
import { saveClassifierModel, type ModelInfo } from '../models/store.js';
import { TfjsClassifier } from '../models/tfjs-classifier.js';
import { accuracyOf, predictClasses } from '../models/predict.js';
import { trainModel, type BatchProgress, type EpochSummary, type TrainConfig, type TrainReport } from '../training/trainer.js';
import { selectData, type DataSelection } from './data-selection.js';
import type * as tf from '@tensorflow/tfjs';
import { createObjective, type ObjectiveOptions } from '../training/objectives/registry.js';
import { ensembleDiversity } from '../training/objectives/ensemble-diversity.js';
import { buildFusedEnsemble } from '../defenses/ensemble/fused.js';
import { buildMultiHead } from '../defenses/ensemble/heads.js';
import { threatModel, type ThreatModelSpec } from '../threats/threat-model.js';
import { takeFirst } from '../data/index.js';
import type { WorkerPool } from '../execution/pool/index.js';
import type { Dataset } from '../core/types.js';

export interface TrainRunOptions extends TrainConfig {
  data: Omit<DataSelection, 'subset'>;
  architecture: string;
  /** Run directory: `model/`, `checkpoints/epoch-NNN/`, `train-report.json`. */
  outDir: string;
  backend?: string;
  /** Continue a killed run from `outDir/checkpoints/state`; default true. */
  resume?: boolean;
  /** Training objective id (`standard`, `pgd-at`, `trades`, `fgsm-rs`, `noise`, ...); default `standard`. */
  method?: string;
  methodOptions?: ObjectiveOptions;
  /**
   * Train a diversity-regularised ensemble of `members` copies of the architecture, fused
   * into one model (defenses/ensemble/fused.ts). With method `diversified` the inputs are
   * PGD-AT's when `methodOptions.threat` is set, else clean; any other method prepares them.
   * `heads: true` makes the members dense heads on one shared trunk (defenses/ensemble/heads.ts):
   * the same objective, served for about the cost of one model.
   */
  ensemble?: { members: number; diversity?: number; heads?: boolean };
  /**
   * PGD accuracy on the validation split every epoch, keeping the best-robust weights.
   * Default: on for methods with a threat, against that threat with 10 steps.
   */
  robustValidation?: { threat: ThreatModelSpec; steps?: number; limit?: number } | false;
  /** Catastrophic-overfitting guard on a training subset; default: on for `fgsm-rs`. */
  overfitGuard?: boolean;
  /** Extends the training split before training (adversarial sets mixed in; see refresh-adversarial.ts). */
  mixTrain?: (train: Dataset) => Dataset;
  /** Data-parallel gradient steps over worker threads (for cross-entropy objectives). */
  pool?: WorkerPool;
  onBatch?: (progress: BatchProgress) => void;
  onEpoch?: (summary: EpochSummary) => void;
}

export interface TrainRunReport {
  kind: 'rampart.train-report';
  schemaVersion: 1;
  rampartVersion: string;
  createdAt: string;
  engine: EngineInfo;
  architecture: string;
  modelDir: string;
  data: ModelInfo['data'];
  training: TrainReport;
  testAccuracy: number;
}

export interface TrainRunResult {
  report: TrainRunReport;
  model: tf.LayersModel;
  classifier: TfjsClassifier;
}

/**
 * @throws UsageError for a bad architecture or config; DataError for unreadable data.
 * @example
 * const { report } = await runTraining({ data: { spec: 'mnist', splitSeed: 1 }, architecture: 'cnn', outDir: 'runs/cnn',
 *   epochs: 3, batchSize: 64, optimizer: 'adam', learningRate: 1e-3, seed: 1 });
 */
export async function runTraining(options: TrainRunOptions): Promise<TrainRunResult> {
  const engine = await initEngine(options.backend === undefined ? {} : { backend: options.backend });
  const createdAt = new Date().toISOString();
  const { splits, selected, provenance } = selectData({ ...options.data, subset: 'train' });
  const train = options.mixTrain ? options.mixTrain(selected) : selected;
  const method = options.method ?? 'standard';
  const methodOptions: ObjectiveOptions = { ...options.methodOptions };
  if (methodOptions.threat && !methodOptions.threat.bounds) methodOptions.threat = { ...methodOptions.threat, bounds: train.bounds };
  const shape = { inputShape: train.shape, numClasses: train.numClasses, seed: options.seed };
  const ensemble = !options.ensemble
    ? undefined
    : options.ensemble.heads
      ? buildMultiHead(options.architecture, { ...shape, heads: options.ensemble.members })
      : buildFusedEnsemble(options.architecture, { ...shape, members: options.ensemble.members });
  // `diversified` with an ensemble size names the ensemble, not the perturbation mixture: its inputs come from PGD-AT or are clean.
  const baseMethod = ensemble && method === 'diversified' ? (methodOptions.threat ? 'pgd-at' : 'standard') : method;
  const base = createObjective(baseMethod, ensemble && baseMethod === 'standard' ? {} : methodOptions);
  const objective = ensemble
    ? ensembleDiversity({
        base,
        members: ensemble.members,
        ...(options.ensemble?.diversity === undefined ? {} : { lambda: options.ensemble.diversity }),
      })
    : base;
  const check = options.robustValidation === false ? undefined : options.robustValidation;
  const threatSpec = options.robustValidation === false ? undefined : (check?.threat ?? methodOptions.threat);
  const robustValidation = threatSpec
    ? { threat: threatModel({ bounds: train.bounds, ...threatSpec }), steps: check?.steps ?? 10, limit: check?.limit ?? 500 }
    : undefined;
  const guard =
    (options.overfitGuard ?? method === 'fgsm-rs') && robustValidation
      ? { ...robustValidation, data: takeFirst(train, 500), drop: 0.2 }
      : undefined;
  const model =
    ensemble?.model ?? buildModel(options.architecture, { inputShape: train.shape, numClasses: train.numClasses, seed: options.seed });
  const { epochs, batchSize, optimizer, learningRate, momentum, schedule, seed, curriculum, augment } = options;
  const config: TrainConfig = {
    epochs,
    batchSize,
    optimizer,
    learningRate,
    seed,
    ...(momentum === undefined ? {} : { momentum }),
    ...(schedule === undefined ? {} : { schedule }),
    ...(curriculum === undefined ? {} : { curriculum }),
    ...(augment === undefined ? {} : { augment }),
  };
  const info: ModelInfo = {
    architecture: options.architecture,
    inputShape: [...train.shape],
    numClasses: train.numClasses,
    bounds: train.bounds,
    data: provenance,
    training: { ...config, objective: { id: objective.id, config: objective.config } },
    createdAt,
    rampartVersion: RAMPART_VERSION,
  };
  const training = await trainModel({
    model,
    train,
    validation: splits.validation,
    objective,
    ...(options.pool ? { pool: options.pool } : {}),
    ...(robustValidation ? { robustValidation } : {}),
    ...(guard ? { overfitGuard: guard } : {}),
    ...config,
    checkpointDir: join(options.outDir, 'checkpoints'),
    resume: options.resume ?? true,
    metadata: { rampart: info },
    ...(options.onBatch ? { onBatch: options.onBatch } : {}),
    ...(options.onEpoch ? { onEpoch: options.onEpoch } : {}),
  });
  // The members' view shares the ensemble's layers: releasing it leaves them to the fused model (disposed by the caller).
  ensemble?.members.dispose();
  const modelDir = join(options.outDir, 'model');
  await saveClassifierModel(model, modelDir, info);
  const classifier = new TfjsClassifier(model, { id: options.architecture, bounds: train.bounds });
  const testAccuracy = accuracyOf(await predictClasses(classifier, splits.test), splits.test.y);
  const report: TrainRunReport = {
    kind: 'rampart.train-report',
    schemaVersion: 1,
    rampartVersion: RAMPART_VERSION,
    createdAt,
    engine,
    architecture: options.architecture,
    modelDir,
    data: provenance,
    training,
    testAccuracy,
  };
  await writeJsonFile(join(options.outDir, 'train-report.json'), report);
  return { report, model, classifier };
}

/**
 * Runs one attack over a whole data set in batches and records, per example, what
 * happened: the clean and adversarial predictions, success, perturbation size, queries.
 * The adversarial predictions come from a fresh forward pass, independent of the
 * attack's own bookkeeping.
 */
import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../core/errors.js';
import { gatherRowValues, gatherRows, ranges } from '../core/tensors.js';
import type { Dataset } from '../core/types.js';
import { sizeOf } from '../core/types.js';
import type { Classifier } from '../models/classifier.js';
import { TfjsClassifier } from '../models/tfjs-classifier.js';
import type { PoolModelHandle, WorkerPool } from '../engine/pool/index.js';
import { predictClasses } from '../models/predict.js';
import type { ThreatModel } from '../threats/threat-model.js';
import type { Attack, AttackProgress } from './types.js';

export interface DatasetAttackOptions {
  model: Classifier;
  data: Dataset;
  attack: Attack;
  threat: ThreatModel;
  /** Attack towards this class; examples already of this class are skipped. */
  targetClass?: number;
  batchSize?: number;
  seed?: number;
  /** Keep the adversarial inputs in the result (memory: count x input size floats). */
  keepAdversarial?: boolean;
  /**
   * Shards each batch across worker threads (TF.js models only; others run here). Random
   * starts are then seeded per shard, so numbers match other pooled runs for any worker
   * count, not an unpooled run.
   */
  pool?: WorkerPool;
  /** The options `attack` was made with (`createAttack(attack.id, attackOptions)`): workers rebuild it from them. Required with `pool`. */
  attackOptions?: Record<string, unknown>;
  onProgress?: (progress: AttackProgress) => void;
}

/** Predicted classes of a batch; disposes `x`. */
async function predictRows(model: Classifier, x: tf.Tensor): Promise<Int32Array> {
  const predicted = tf.tidy(() => tf.argMax(model.logits(x), 1));
  x.dispose();
  const values = (await predicted.data()) as Int32Array;
  predicted.dispose();
  return values;
}

/** One attacked batch, wherever it ran. */
interface BatchOutcome {
  /** Downloaded only when the result keeps the adversarial inputs (or a worker sent them anyway). */
  adversarial?: Float32Array;
  success: Uint8Array;
  perturbation: Float32Array;
  queries: Int32Array;
}

export interface ExampleOutcome {
  index: number;
  label: number;
  cleanPrediction: number;
  adversarialPrediction: number;
  success: boolean;
  perturbation: number;
  queries: number;
}

export interface DatasetAttackResult {
  attack: { id: string; config: Readonly<object> };
  threat: ThreatModel;
  goal: { kind: 'untargeted' } | { kind: 'targeted'; targetClass: number };
  examples: ExampleOutcome[];
  summary: { attacked: number; succeeded: number; successRate: number; cleanAccuracy: number; adversarialAccuracy: number; meanPerturbation: number };
  /** Row-major adversarial inputs of `examples`, when asked for. */
  adversarial?: Float32Array;
  /** How the attack ran: in this thread, or sharded over a worker pool in shards of `shardRows`. */
  execution: { workers: number; shardRows?: number };
}

/**
 * @throws UsageError `E_TARGET_CLASS` for a target class the model does not have; whatever the attack throws.
 * @example const result = await attackDataset({ model, data: test, attack: pgd(), threat: threatModel({ norm: 'linf', epsilon: 0.3 }) });
 */
export async function attackDataset(options: DatasetAttackOptions): Promise<DatasetAttackResult> {
  const { model, data, attack, threat, targetClass } = options;
  const batchSize = options.batchSize ?? 256;
  if (targetClass !== undefined && !(Number.isInteger(targetClass) && targetClass >= 0 && targetClass < model.numClasses)) {
    throw new UsageError('E_TARGET_CLASS', `Target class ${targetClass} does not exist; model '${model.id}' has classes 0..${model.numClasses - 1}.`);
  }
  const clean = await predictClasses(model, data, batchSize);
  const rows: number[] = [];
  for (let i = 0; i < data.count; i++) if (targetClass === undefined || data.y[i] !== targetClass) rows.push(i);
  const rowSize = sizeOf(data.shape);
  const adversarial = options.keepAdversarial ? new Float32Array(rows.length * rowSize) : undefined;
  const examples: ExampleOutcome[] = [];
  const totalSteps = rows.length;
  if (options.pool && options.attackOptions === undefined) {
    throw new UsageError('E_POOL_ATTACK', `attackDataset on a worker pool needs attackOptions, the options '${attack.id}' was created with, so the workers can rebuild it.`);
  }
  const pool = options.pool !== undefined && model instanceof TfjsClassifier ? options.pool : undefined;
  const handle: PoolModelHandle | undefined = pool ? await pool.loadModel((model as TfjsClassifier).model, model.bounds, { id: model.id }) : undefined;
  try {
    for (const [start, end] of ranges(rows.length, batchSize)) {
      const batchRows = rows.slice(start, end);
      const labels = Int32Array.from(batchRows, (r) => data.y[r] as number);
      const goal = targetClass === undefined ? undefined : { kind: 'targeted' as const, targets: new Int32Array(batchRows.length).fill(targetClass) };
      const seed = (options.seed ?? 0) + start;
      const onProgress = (p: AttackProgress): void => options.onProgress?.({ done: start + (batchRows.length * p.done) / Math.max(1, p.total), total: totalSteps });
      let outcome: BatchOutcome;
      // The adversarial predictions come from a fresh forward pass, independent of the attack's (or a worker's) bookkeeping.
      let adversarialPredictions: Int32Array;
      if (pool && handle) {
        const result = await pool.attack(handle, { attackId: attack.id, attackOptions: options.attackOptions ?? {}, threat, x: gatherRowValues(data, batchRows), labels, seed, ...(goal ? { goal } : {}), onProgress });
        outcome = result;
        adversarialPredictions = await predictRows(model, tf.tensor(result.adversarial, [batchRows.length, ...data.shape], 'float32'));
      } else {
        const x = gatherRows(data, batchRows);
        try {
          const result = await attack.run(model, x, labels, threat, { seed, ...(goal ? { goal } : {}), onProgress });
          outcome = { ...(adversarial ? { adversarial: (await result.adversarial.data()) as Float32Array } : {}), success: result.success, perturbation: result.perturbation, queries: result.queries };
          adversarialPredictions = await predictRows(model, result.adversarial);
        } finally {
          x.dispose();
        }
      }
      if (adversarial && outcome.adversarial) adversarial.set(outcome.adversarial, start * rowSize);
      batchRows.forEach((row, k) => {
        examples.push({
          index: row,
          label: data.y[row] as number,
          cleanPrediction: clean[row] as number,
          adversarialPrediction: adversarialPredictions[k] as number,
          success: outcome.success[k] === 1,
          perturbation: outcome.perturbation[k] as number,
          queries: outcome.queries[k] as number,
        });
      });
      options.onProgress?.({ done: end, total: totalSteps });
    }
  } finally {
    if (pool && handle) await pool.unloadModel(handle);
  }
  const succeeded = examples.filter((e) => e.success);
  const n = Math.max(1, examples.length);
  return {
    attack: { id: attack.id, config: attack.config },
    threat,
    goal: targetClass === undefined ? { kind: 'untargeted' } : { kind: 'targeted', targetClass },
    examples,
    execution: pool ? { workers: pool.size, shardRows: pool.shardRows } : { workers: 1 },
    summary: {
      attacked: examples.length,
      succeeded: succeeded.length,
      successRate: succeeded.length / n,
      cleanAccuracy: examples.filter((e) => e.cleanPrediction === e.label).length / n,
      adversarialAccuracy: examples.filter((e) => e.adversarialPrediction === e.label).length / n,
      meanPerturbation: succeeded.length === 0 ? 0 : succeeded.reduce((s, e) => s + e.perturbation, 0) / succeeded.length,
    },
    ...(adversarial ? { adversarial } : {}),
  };
}

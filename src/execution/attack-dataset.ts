/**
 * Runs one attack over a whole data set in batches and records, per example, what
 * happened: the clean and adversarial predictions, success, perturbation size, queries.
 * The adversarial predictions come from a fresh forward pass, independent of the
 * attack's own bookkeeping. Rows run on an executor (in this thread by default, or a
 * worker pool), in shards seeded by row offset, so the numbers do not depend on which.
 */
import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../core/errors.js';
import { ranges } from '../core/tensors.js';
import type { Dataset } from '../core/types.js';
import { sizeOf } from '../core/types.js';
import type { Attack, AttackProgress } from '../attacks/types.js';
import type { Classifier } from '../models/classifier.js';
import { predictBatch, predictClasses } from '../models/predict.js';
import type { ThreatModel } from '../threats/threat-model.js';
import { localExecutor } from './create.js';
import { withSession, type ExecutionInfo, type Executor } from './executor.js';

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
   * Where the rows run: a worker pool (TF.js models only; others run here) or any executor;
   * default this thread. Random starts are seeded per shard of rows, the same on every executor.
   */
  pool?: Executor;
  /** The options `attack` was made with (`createAttack(attack.id, attackOptions)`): workers rebuild it from them. Required with `pool`. */
  attackOptions?: Record<string, unknown>;
  onProgress?: (progress: AttackProgress) => void;
}

/** Predicted classes of a batch; disposes `x`. */
async function predictRows(model: Classifier, x: tf.Tensor): Promise<Int32Array> {
  try {
    return await predictBatch(model, x);
  } finally {
    x.dispose();
  }
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
  summary: {
    attacked: number;
    succeeded: number;
    successRate: number;
    cleanAccuracy: number;
    adversarialAccuracy: number;
    meanPerturbation: number;
  };
  /** Row-major adversarial inputs of `examples`, when asked for. */
  adversarial?: Float32Array;
  /** How the attack ran: the executor's workers and shard size (the unit of seeding). */
  execution: ExecutionInfo;
}

/**
 * @throws UsageError `E_TARGET_CLASS` for a target class the model does not have; whatever the attack throws.
 * @example const result = await attackDataset({ model, data: test, attack: pgd(), threat: threatModel({ norm: 'linf', epsilon: 0.3 }) });
 */
export async function attackDataset(options: DatasetAttackOptions): Promise<DatasetAttackResult> {
  const { model, data, attack, threat, targetClass } = options;
  const batchSize = options.batchSize ?? 256;
  if (targetClass !== undefined && !(Number.isInteger(targetClass) && targetClass >= 0 && targetClass < model.numClasses)) {
    throw new UsageError(
      'E_TARGET_CLASS',
      `Target class ${targetClass} does not exist; model '${model.id}' has classes 0..${model.numClasses - 1}.`,
    );
  }
  const clean = await predictClasses(model, data, batchSize);
  const rows: number[] = [];
  for (let i = 0; i < data.count; i++) if (targetClass === undefined || data.y[i] !== targetClass) rows.push(i);
  const rowSize = sizeOf(data.shape);
  const adversarial = options.keepAdversarial ? new Float32Array(rows.length * rowSize) : undefined;
  const examples: ExampleOutcome[] = [];
  const totalSteps = rows.length;
  if (options.pool && options.attackOptions === undefined) {
    throw new UsageError(
      'E_POOL_ATTACK',
      `attackDataset on a worker pool needs attackOptions, the options '${attack.id}' was created with, so the workers can rebuild it.`,
    );
  }
  // A pool rebuilds the attack in its workers from its id and options; this thread runs the object itself.
  const spec = options.pool ? { id: attack.id, options: options.attackOptions ?? {} } : attack;
  const execution = await withSession(options.pool ?? localExecutor(), model, async (session) => {
    for (const [start, end] of ranges(rows.length, batchSize)) {
      const batchRows = rows.slice(start, end);
      const targets = targetClass === undefined ? undefined : new Int32Array(batchRows.length).fill(targetClass);
      const outcome = await session.runRows({
        data,
        rows: batchRows,
        threat,
        attack: spec,
        seed: (options.seed ?? 0) + start,
        ...(targets ? { targets } : {}),
        onProgress: (done) => options.onProgress?.({ done: start + done, total: totalSteps }),
      });
      // The adversarial predictions come from a fresh forward pass, independent of the attack's (or a worker's) bookkeeping.
      const adversarialPredictions = await predictRows(model, tf.tensor(outcome.adversarial, [batchRows.length, ...data.shape], 'float32'));
      if (adversarial) adversarial.set(outcome.adversarial, start * rowSize);
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
    return session.execution;
  });
  const succeeded = examples.filter((e) => e.success);
  const n = Math.max(1, examples.length);
  return {
    attack: { id: attack.id, config: attack.config },
    threat,
    goal: targetClass === undefined ? { kind: 'untargeted' } : { kind: 'targeted', targetClass },
    examples,
    execution,
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

/**
 * Runs one attack over a whole data set in batches and records, per example, what
 * happened: the clean and adversarial predictions, success, perturbation size, queries.
 * The adversarial predictions come from a fresh forward pass, independent of the
 * attack's own bookkeeping.
 */
import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../core/errors.js';
import { gatherRows, ranges } from '../core/tensors.js';
import type { Dataset } from '../core/types.js';
import { sizeOf } from '../core/types.js';
import type { Classifier } from '../models/classifier.js';
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
  onProgress?: (progress: AttackProgress) => void;
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
  for (const [start, end] of ranges(rows.length, batchSize)) {
    const batchRows = rows.slice(start, end);
    const x = gatherRows(data, batchRows);
    const labels = Int32Array.from(batchRows, (r) => data.y[r] as number);
    try {
      const result = await attack.run(model, x, labels, threat, {
        seed: (options.seed ?? 0) + start,
        ...(targetClass === undefined ? {} : { goal: { kind: 'targeted' as const, targets: new Int32Array(batchRows.length).fill(targetClass) } }),
        onProgress: (p) => options.onProgress?.({ done: start + (batchRows.length * p.done) / Math.max(1, p.total), total: totalSteps }),
      });
      const predicted = tf.tidy(() => tf.argMax(model.logits(result.adversarial), 1));
      const adversarialPredictions = await predicted.data();
      predicted.dispose();
      if (adversarial) adversarial.set(await result.adversarial.data(), start * rowSize);
      result.adversarial.dispose();
      batchRows.forEach((row, k) => {
        examples.push({
          index: row,
          label: data.y[row] as number,
          cleanPrediction: clean[row] as number,
          adversarialPrediction: adversarialPredictions[k] as number,
          success: result.success[k] === 1,
          perturbation: result.perturbation[k] as number,
          queries: result.queries[k] as number,
        });
      });
    } finally {
      x.dispose();
    }
    options.onProgress?.({ done: end, total: totalSteps });
  }
  const succeeded = examples.filter((e) => e.success);
  const n = Math.max(1, examples.length);
  return {
    attack: { id: attack.id, config: attack.config },
    threat,
    goal: targetClass === undefined ? { kind: 'untargeted' } : { kind: 'targeted', targetClass },
    examples,
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

/**
 * The transfer adversary's own model: trained by the pipeline on the image data's validation
 * split (data an adversary could collect, disjoint from the model's training and test
 * examples), with plain training. Its examples are then judged on the evaluated model.
 */
import { UsageError } from '../../core/errors.js';
import { takeFirst } from '../../data/index.js';
import type { Dataset } from '../../core/types.js';
import { buildModel } from '../../models/architectures.js';
import { TfjsClassifier } from '../../models/tfjs-classifier.js';
import { trainModel } from '../../training/trainer.js';
import type { Plan } from '../plan/schema.js';

/** True when the plan has a transfer image threat (only those need a surrogate). */
export function needsSurrogate(plan: Plan): boolean {
  return plan.evaluation.surrogate !== undefined && plan.threats.some((t) => t.channel === 'image' && t.technique === 'transfer');
}

/**
 * Trains the plan's surrogate on `data` (the validation split). The caller disposes it.
 *
 * @throws UsageError `E_SURROGATE` without `evaluation.surrogate`; UsageError for an unknown architecture;
 *   InputError when the data does not fit it.
 */
export async function trainSurrogate(plan: Plan, data: Dataset): Promise<TfjsClassifier> {
  const spec = plan.evaluation.surrogate;
  if (!spec) throw new UsageError('E_SURROGATE', 'The plan has no evaluation.surrogate; add one, e.g. { architecture: mlp, epochs: 3 }.');
  const train = takeFirst(data, Math.min(spec.limit, data.count));
  const model = buildModel(spec.architecture, { inputShape: train.shape, numClasses: train.numClasses, seed: plan.seed + 7919 });
  await trainModel({
    model,
    train,
    epochs: spec.epochs,
    batchSize: 64,
    optimizer: 'adam',
    learningRate: spec.learningRate,
    seed: plan.seed + 7919,
  });
  return new TfjsClassifier(model, { id: `surrogate-${spec.architecture}`, bounds: train.bounds });
}

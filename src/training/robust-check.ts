/**
 * A quick PGD accuracy check used inside training: for best-robust checkpoint selection
 * (robust overfitting is real, Rice et al. 2020) and to catch catastrophic overfitting of
 * single-step training (robust accuracy against PGD collapsing while FGSM accuracy soars).
 */
import * as tf from '@tensorflow/tfjs';
import { ranges, batchTensor } from '../core/tensors.js';
import type { Dataset } from '../core/types.js';
import { pgd } from '../attacks/image/pgd.js';
import type { Classifier } from '../models/classifier.js';
import type { ThreatModel } from '../threats/threat-model.js';

export interface RobustCheckConfig {
  threat: ThreatModel;
  /** PGD steps; default 10. */
  steps?: number;
  /** Examples checked, from the start of the set; default 500. */
  limit?: number;
}

/** Fraction of the first `limit` examples that PGD does not break (misclassified clean counts as broken). */
export async function pgdAccuracy(
  model: Classifier,
  data: Dataset,
  config: RobustCheckConfig,
  seed: number,
  batchSize = 256,
): Promise<number> {
  const count = Math.min(data.count, config.limit ?? 500);
  if (count === 0) return 0;
  const attack = pgd({ steps: config.steps ?? 10 });
  let robust = 0;
  for (const [start, end] of ranges(count, batchSize)) {
    const x = batchTensor(data, start, end);
    try {
      const result = await attack.run(model, x, data.y.slice(start, end), config.threat, { seed: seed + start });
      result.adversarial.dispose();
      robust += result.success.reduce((s, v) => s + (v ? 0 : 1), 0);
    } finally {
      x.dispose();
    }
  }
  return robust / count;
}

/** A copy of a model's weights, kept outside any scope (the caller disposes). */
export function snapshotWeights(model: tf.LayersModel): tf.Tensor[] {
  return model.getWeights().map((w) => tf.keep(w.clone()));
}

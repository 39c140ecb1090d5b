/**
 * The one place a shard of rows is attacked: the local executor and every pool worker
 * (through the `attack` handler) call it, so they give the same numbers.
 */
import * as tf from '@tensorflow/tfjs';
import type { Attack } from '../attacks/types.js';
import type { Classifier } from '../models/classifier.js';
import type { ProgressSink } from './handlers/registry.js';
import { tight, type AttackShard, type AttackShardResult } from './shards.js';

/**
 * Attacks one shard with `attack` at the shard's seed; every tensor made here is disposed.
 *
 * @throws whatever `attack.run` throws (InputError, GradientError...).
 * @example const r = await runAttackShard(pgd(), classifier, { attackId: 'pgd', attackOptions: {}, threat, x, shape, labels, seed: 0 });
 */
export async function runAttackShard(
  attack: Attack,
  classifier: Classifier,
  shard: AttackShard,
  onProgress?: ProgressSink,
): Promise<AttackShardResult> {
  const x = tf.tensor(shard.x, shard.shape, 'float32');
  try {
    const result = await attack.run(classifier, x, shard.labels, shard.threat, {
      seed: shard.seed,
      ...(shard.window ? { window: shard.window } : {}),
      ...(shard.targets ? { goal: { kind: 'targeted' as const, targets: shard.targets } } : {}),
      ...(onProgress ? { onProgress: (p: { done: number; total: number }) => onProgress(p.done, p.total) } : {}),
    });
    let adversarial: Float32Array;
    try {
      adversarial = tight((await result.adversarial.data()) as Float32Array);
    } finally {
      result.adversarial.dispose();
    }
    return { adversarial, success: tight(result.success), perturbation: tight(result.perturbation), queries: tight(result.queries) };
  } finally {
    x.dispose();
  }
}

/**
 * The `attack` shard handler: rebuilds the attack from its registered id and options and
 * runs it on one shard of rows with `runAttackShard`, as the local executor does, so both
 * give the same numbers.
 */
import * as tf from '@tensorflow/tfjs';
import { InputError } from '../../core/errors.js';
import { sizeOf } from '../../core/types.js';
import { createAttack } from '../../attacks/registry.js';
import { validateAttackInputs } from '../../attacks/validate.js';
import { assertBatchShape } from '../../models/classifier.js';
import { runAttackShard } from '../run-attack-shard.js';
import { ATTACK_KIND, type AttackShard, type AttackShardResult } from '../shards.js';
import { classifierTarget, type AnyShardTarget, type ModelInfo, type ShardHandler } from './registry.js';

/** The checks `attack.run` makes, on the whole request, so a mistake throws its typed error before any work is sent. */
async function checkAttack(shard: AttackShard, model: ModelInfo): Promise<void> {
  createAttack(shard.attackId, shard.attackOptions); // throws UsageError for a bad id or option
  assertBatchShape(model, shard.shape);
  if (shard.x.length !== sizeOf(shard.shape)) {
    throw new InputError(
      'E_INPUT_LENGTH',
      `x holds ${shard.x.length} values but shape [${shard.shape.join(', ')}] needs ${sizeOf(shard.shape)}.`,
      {
        details: { length: shard.x.length, shape: shard.shape },
      },
    );
  }
  if (shard.labels.length === 0 && shard.shape[0] === 0) return;
  const tensor = tf.tensor(shard.x, shard.shape, 'float32');
  try {
    const goal = shard.targets ? { kind: 'targeted' as const, targets: shard.targets } : { kind: 'untargeted' as const };
    await validateAttackInputs(model, tensor, shard.labels, shard.threat, goal);
  } finally {
    tensor.dispose();
  }
}

/** A new `attack` handler. */
export function attackHandler(): ShardHandler<AttackShard, AttackShardResult, AnyShardTarget> {
  return {
    kind: ATTACK_KIND,
    check: checkAttack,
    run: (target, shard, onProgress) => {
      const attack = createAttack(shard.attackId, shard.attackOptions);
      return runAttackShard(attack, classifierTarget(target, ATTACK_KIND).classifier, shard, onProgress);
    },
    transferables: (r) => [r.adversarial.buffer, r.success.buffer, r.perturbation.buffer, r.queries.buffer] as ArrayBuffer[],
  };
}

/**
 * The `gradients` shard handler: rebuilds the training objective from its spec, lets it
 * prepare its own shard (e.g. the PGD inner maximisation) and returns the weight gradients
 * of the shard's mean loss. Needs the TF.js model itself (its variables).
 */
import * as tf from '@tensorflow/tfjs';
import { InputError, UsageError } from '../../core/errors.js';
import { sizeOf } from '../../core/types.js';
import { assertLabels } from '../../attacks/validate.js';
import { assertBatchShape } from '../../models/classifier.js';
import { createObjective } from '../../training/objectives/registry.js';
import type { Objective, ObjectiveSpec } from '../../training/objectives/types.js';
import { GRADIENTS_KIND, tight, type GradientsShard, type GradientsShardResult } from '../shards.js';
import { classifierTarget, type AnyShardTarget, type ModelInfo, type ShardHandler, type ShardTarget } from './registry.js';

function checkGradients(shard: GradientsShard, model: ModelInfo): void {
  const { objective } = shard;
  // Built here too, so a bad id or option fails with the registry's own error before any work.
  if (createObjective(objective.id, objective.options ?? {}).spec === undefined) {
    throw new UsageError(
      'E_POOL_OBJECTIVE',
      `Objective '${objective.id}' uses adversarial weight perturbation, which needs the whole batch; train it without a worker pool (--workers 1).`,
      {
        details: { objective },
      },
    );
  }
  const n = shard.labels.length;
  assertBatchShape(model, shard.shape, 'training batch');
  if (shard.x.length !== sizeOf(shard.shape) || shard.shape[0] !== n || n === 0) {
    throw new InputError(
      'E_INPUT_LENGTH',
      `x holds ${shard.x.length} values and ${n} labels; shape [${shard.shape.join(', ')}] needs ${sizeOf(shard.shape)} values, one label per row and at least one row.`,
      {
        details: { length: shard.x.length, labels: n, shape: shard.shape },
      },
    );
  }
  assertLabels(shard.labels, n, model.numClasses);
}

async function runGradients(objective: Objective, target: ShardTarget, shard: GradientsShard): Promise<GradientsShardResult> {
  const { model } = target;
  if (!model) throw new UsageError('E_GRADIENTS_MODEL', `Gradient shards need a TF.js model; '${target.classifier.id}' is not one.`);
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const x = tf.tensor(shard.x, shard.shape, 'float32');
  const y = tf.tensor1d(shard.labels, 'int32');
  const batch = { x, y, ...shard.batch };
  let prepared: tf.Tensor | undefined;
  let value: tf.Scalar | undefined;
  let grads: tf.NamedTensorMap = {};
  try {
    // Outside the tape, as on the main thread: the inner attack is not differentiated.
    prepared = objective.prepare ? await objective.prepare(model, batch) : x;
    const input = prepared;
    ({ value, grads } = tf.variableGrads(() => objective.loss(model, batch, input), variables));
    const loss = (await value.data())[0] ?? NaN;
    const gradients = await Promise.all(
      variables.map(async (v) => {
        const g = grads[v.name];
        // A weight the loss does not reach has a zero gradient, not a missing one.
        return g ? tight((await g.data()) as Float32Array) : new Float32Array(v.size);
      }),
    );
    return { loss, count: shard.labels.length, gradients };
  } finally {
    if (prepared && prepared !== x) prepared.dispose();
    value?.dispose();
    for (const g of Object.values(grads)) g.dispose();
    x.dispose();
    y.dispose();
  }
}

/** A new `gradients` handler, with its own cache of built objectives. */
export function gradientsHandler(): ShardHandler<GradientsShard, GradientsShardResult, AnyShardTarget> {
  const objectives = new Map<string, Objective>();
  /** Objectives are rebuilt once per distinct spec: a training run sends the same one every step. */
  const objectiveFor = (spec: ObjectiveSpec): Objective => {
    const key = JSON.stringify(spec);
    let objective = objectives.get(key);
    if (!objective) {
      objective = createObjective(spec.id, spec.options ?? {});
      if (objectives.size >= 16) objectives.clear();
      objectives.set(key, objective);
    }
    return objective;
  };
  return {
    kind: GRADIENTS_KIND,
    check: checkGradients,
    run: (target, shard) => runGradients(objectiveFor(shard.objective), classifierTarget(target, GRADIENTS_KIND), shard),
    transferables: (r) => r.gradients.map((g) => g.buffer as ArrayBuffer),
  };
}

/**
 * AWP — "Adversarial Weight Perturbation Helps Robust Generalization", Wu, Xia, Wang,
 * NeurIPS 2020, https://arxiv.org/abs/2004.05884
 *
 * A wrapper over any objective: after the inner objective has prepared its (adversarial)
 * batch, each weight tensor w is moved uphill on the inner loss by
 * v = γ * ‖w‖ * g / ‖g‖ (layer-wise, g = ∂loss/∂w on the prepared batch), the optimizer
 * steps at w + v, and `afterUpdate` subtracts v again. The offset is additive, so the
 * weights end at w + Δ with Δ the update the optimizer computed at the perturbed point,
 * whatever the optimizer. As in the reference code, only weights of rank >= 2 (kernels)
 * are perturbed; biases and normalisation parameters are left alone.
 * Defaults: γ = 5e-3, one gradient step for v, no warm-up.
 *
 * Needs the trainer to call `afterUpdate` right after every optimizer step. A step whose
 * `afterUpdate` never ran (the loss threw) has its offset removed at the next `prepare`.
 */
import * as tf from '@tensorflow/tfjs';
import { awpOptions, parseObjectiveOptions, type AwpOptions } from './schemas.js';
import type { Objective, ObjectiveBatch } from './types.js';

export type { AwpOptions };

interface Offset {
  variable: tf.Variable;
  offset: tf.Tensor;
}

/** Avoids 0/0 when a layer's gradient vanishes: the offset is then zero. */
const TINY = 1e-20;

/** The weight tensors AWP perturbs: trainable kernels, not biases or normalisation scales. */
function perturbedVariables(model: tf.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => w.read() as tf.Variable).filter((v) => v.rank >= 2);
}

/** v = γ‖w‖ g/‖g‖ per variable, with g the gradient of the inner loss at the current weights. */
function weightOffsets(inner: Objective, model: tf.LayersModel, batch: ObjectiveBatch, prepared: tf.Tensor, gamma: number): Offset[] {
  const variables = perturbedVariables(model);
  if (variables.length === 0) return [];
  const { value, grads } = tf.variableGrads(() => inner.loss(model, batch, prepared), variables);
  value.dispose();
  try {
    const offsets = tf.tidy(() =>
      variables.map((variable) => {
        const g = grads[variable.name];
        return g ? tf.mul(g, tf.div(tf.mul(gamma, tf.norm(variable)), tf.add(tf.norm(g), TINY))) : tf.zerosLike(variable);
      }),
    );
    return variables.map((variable, i) => ({ variable, offset: offsets[i] as tf.Tensor }));
  } finally {
    Object.values(grads).forEach((g) => g.dispose());
  }
}

/**
 * Wraps an objective with adversarial weight perturbation.
 *
 * @throws UsageError `E_OBJECTIVE_OPTION` for γ < 0, a negative or fractional warm-up, or an unknown option.
 * @example
 * const objective = awp(trades({ threat: { norm: 'linf', epsilon: 0.3 } }), { gamma: 5e-3 });
 */
export function awp(inner: Objective, options: AwpOptions = {}): Objective {
  const o = parseObjectiveOptions('awp', awpOptions, options);
  const gamma = o.gamma ?? 5e-3;
  const warmupEpochs = o.warmupEpochs ?? 0;
  let applied: Offset[] = [];

  const restore = (): void => {
    for (const { variable, offset } of applied) {
      tf.tidy(() => variable.assign(tf.sub(variable, offset)));
      offset.dispose();
    }
    applied = [];
  };

  return {
    id: `${inner.id}+awp`,
    config: { gamma, warmupEpochs, inner: { id: inner.id, config: inner.config } },
    prepare: async (model, batch) => {
      restore();
      const prepared = inner.prepare ? await inner.prepare(model, batch) : tf.clone(batch.x);
      if (gamma === 0 || batch.epoch < warmupEpochs) return prepared;
      try {
        applied = weightOffsets(inner, model, batch, prepared, gamma);
      } catch (error) {
        prepared.dispose();
        throw error;
      }
      for (const { variable, offset } of applied) tf.tidy(() => variable.assign(tf.add(variable, offset)));
      return prepared;
    },
    loss: (model, batch, prepared) => inner.loss(model, batch, prepared),
    afterUpdate: (model, batch) => {
      // Last in, first out: a nested wrapper's offset was added before this one.
      restore();
      inner.afterUpdate?.(model, batch);
    },
  };
}

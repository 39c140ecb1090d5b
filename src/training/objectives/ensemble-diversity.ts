/**
 * Diversity-regularised ensemble training (cf. ADP, Pang et al. ICML 2019,
 * https://arxiv.org/abs/1901.08846): the members' mean cross-entropy on the base objective's
 * inputs (clean, or adversarial against the whole ensemble for PGD-AT), plus `lambda`
 * times the mean pairwise cosine similarity of the members' non-true-class probability
 * vectors. Members that agree on the correct class but spread their wrong-class mass
 * differently do not share adversarial directions as easily, so an attack must fool them
 * separately. (ADP uses the log-determinant of the same vectors' Gram matrix; the pairwise
 * cosine is its first-order, numerically tame stand-in.)
 *
 * Each member is trained to be right on its own (ADP's ensemble cross-entropy is the sum of
 * the members' losses), not only their mean: with the mean's cross-entropy alone the
 * diversity term pulls every member off the true class while the mean stays right (3-member
 * MLPs on MNIST at lambda 0.5: members 10–35% accurate, the mean 82%), and the serve-time
 * disagreement layer then flags nearly every clean input.
 */
import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../../core/errors.js';
import type { Objective } from './types.js';

export interface EnsembleDiversityOptions {
  /** The objective that prepares the inputs (standard or an adversarial one, run on the fused ensemble). */
  base: Objective;
  /** The ensemble's members as one multi-output model over the trained model's layers (buildFusedEnsemble). */
  members: tf.LayersModel;
  /** Weight of the diversity term; default 0.5. */
  lambda?: number;
}

/**
 * Mean pairwise cosine similarity of the members' probability vectors with the true class
 * masked out, per batch: 0 when their wrong-class predictions are orthogonal, 1 when equal.
 */
export function nonMaximalSimilarity(memberLogits: readonly tf.Tensor2D[], labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const classes = memberLogits[0]?.shape[1] ?? 1;
    const keep = tf.sub(1, tf.oneHot(labels, classes));
    const unit = memberLogits.map((l) => {
      const p = tf.mul(tf.softmax(l), keep);
      return tf.div(p, tf.add(tf.norm(p, 2, 1, true), 1e-12));
    });
    const sims: tf.Tensor[] = [];
    for (let i = 0; i < unit.length; i++)
      for (let j = i + 1; j < unit.length; j++) sims.push(tf.mean(tf.sum(tf.mul(unit[i] as tf.Tensor, unit[j] as tf.Tensor), 1)));
    return (sims.length === 0 ? tf.scalar(0) : tf.mean(tf.stack(sims))) as tf.Scalar;
  });
}

/**
 * Wraps `base` so that its loss trains an ensemble to be right and diverse.
 *
 * @throws UsageError `E_OBJECTIVE_OPTION` for a negative or non-finite lambda.
 * @example const objective = ensembleDiversity({ base: standardObjective(), members: ensemble.members, lambda: 0.5 });
 */
export function ensembleDiversity(options: EnsembleDiversityOptions): Objective {
  const lambda = options.lambda ?? 0.5;
  if (!Number.isFinite(lambda) || lambda < 0)
    throw new UsageError('E_OBJECTIVE_OPTION', `ensemble diversity weight must be a finite number >= 0 (got ${String(lambda)}).`, {
      details: { objective: 'diversified', option: 'diversity', value: lambda },
    });
  const { base, members } = options;
  return {
    id: 'diversified',
    config: { ensemble: members.outputs.length, diversity: lambda, base: { id: base.id, config: base.config } },
    ...(base.prepare ? { prepare: base.prepare.bind(base) } : {}),
    loss: (_model, batch, prepared) => {
      const logits = members.apply(prepared, { training: true }) as tf.Tensor2D[];
      const classes = logits[0]?.shape[1] ?? 1;
      const target = tf.oneHot(batch.y, classes);
      const ce = tf.mean(tf.stack(logits.map((l) => tf.losses.softmaxCrossEntropy(target, l)))) as tf.Scalar;
      return lambda === 0 ? ce : tf.add(ce, tf.mul(lambda, nonMaximalSimilarity(logits, batch.y)));
    },
  };
}

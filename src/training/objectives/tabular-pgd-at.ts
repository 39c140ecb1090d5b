/**
 * PGD adversarial training under tabular constraints (Madry et al. 2018,
 * https://arxiv.org/abs/1706.06083, with the inner maximisation projected onto the
 * constraints): the same ascent primitive as `pgd-at` (`perturb`), with the constraints'
 * scaled norm and projection as its hooks. `attackClasses` limits the adversary to rows of
 * those labels — a one-directional threat (an anomaly disguised as normal) perturbs only
 * the class it starts from, so the other class trains on clean rows and the boundary is
 * not pulled toward it.
 */
import * as tf from '@tensorflow/tfjs';
import { perturb } from '../../attacks/image/ascent.js';
import { attackLoss } from '../../attacks/losses.js';
import { UsageError } from '../../core/errors.js';
import { projection, scaledNorm } from '../../threats/tabular/project.js';
import type { TabularThreat } from '../../threats/tabular/threat.js';
import { inferenceLogits, meanCrossEntropy, trainingLogits } from './losses.js';
import type { Objective } from './types.js';

export interface TabularPgdAtOptions {
  threat: TabularThreat;
  /** Ascent steps; default 10. */
  steps?: number;
  /** Step size in the scaled norm; default 2.5 * epsilon / steps. */
  stepSize?: number;
  /** Labels whose rows the adversary perturbs; default every label. */
  attackClasses?: readonly number[];
  /** Weight r of the adversarial term in (1 − r) · CE(clean) + r · CE(adversarial); default 1. */
  mixRatio?: number;
}

/**
 * Constrained PGD adversarial training as a trainer objective.
 *
 * @throws UsageError `E_OBJECTIVE_OPTION` for steps < 1, a step size <= 0 or mixRatio outside [0, 1].
 * @example const objective = tabularPgdAt({ threat, steps: 10, attackClasses: [1] });
 */
export function tabularPgdAt(options: TabularPgdAtOptions): Objective {
  const { threat } = options;
  const steps = options.steps ?? 10;
  const stepSize = options.stepSize ?? (2.5 * threat.epsilon) / steps;
  const mixRatio = options.mixRatio ?? 1;
  if (!Number.isInteger(steps) || steps < 1 || !(stepSize > 0) || !(mixRatio >= 0 && mixRatio <= 1)) {
    throw new UsageError(
      'E_OBJECTIVE_OPTION',
      `tabular-pgd-at needs whole steps >= 1, stepSize > 0 and mixRatio in [0, 1]; got ${steps}, ${stepSize}, ${mixRatio}.`,
      { details: { objective: 'tabular-pgd-at', steps, stepSize, mixRatio } },
    );
  }
  const norm = scaledNorm(threat.constraints);
  const project = projection(threat.constraints);
  const classes = options.attackClasses;
  return {
    id: 'tabular-pgd-at',
    config: { threat: threat.id, steps, stepSize, mixRatio, ...(classes ? { attackClasses: [...classes] } : {}) },
    prepare: async (model, batch) =>
      tf.tidy(() => {
        const adversarial = perturb(batch.x, {
          objective: (logits) => attackLoss('ce', logits, batch.y, false),
          logits: inferenceLogits(model),
          norm,
          threat,
          steps,
          stepSize,
          randomStart: true,
          seed: batch.seed,
          project,
        });
        if (!classes) return adversarial;
        const labels = batch.y.dataSync();
        const mask = Float32Array.from(labels, (l) => (classes.includes(l) ? 1 : 0));
        const m = tf.tensor(mask, [mask.length, ...new Array<number>(batch.x.rank - 1).fill(1)]);
        return tf.add(tf.mul(adversarial, m), tf.mul(batch.x, tf.sub(1, m)));
      }),
    loss: (model, batch, prepared) =>
      tf.tidy(() => {
        const adversarial = meanCrossEntropy(trainingLogits(model, prepared), batch.y);
        if (mixRatio === 1) return adversarial;
        const clean = meanCrossEntropy(trainingLogits(model, batch.x), batch.y);
        return tf.add(tf.mul(1 - mixRatio, clean), tf.mul(mixRatio, adversarial)) as tf.Scalar;
      }),
  };
}

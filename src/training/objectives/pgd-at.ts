/**
 * PGD adversarial training — "Towards Deep Learning Models Resistant to Adversarial
 * Attacks", Madry, Makelov, Schmidt, Tsipras, Vladu, ICLR 2018,
 * https://arxiv.org/abs/1706.06083
 *
 * min over weights of E[max over the threat ball of CE(f(x + δ), y)]: the inner maximum is
 * approximated by projected steepest ascent on the cross-entropy (L∞ or L2, from the
 * threat model), with the model in inference mode; the outer step trains on the result.
 * Defaults: 10 steps of 2.5 * epsilon / steps, random start, mixRatio 1 (adversarial
 * inputs only; r < 1 trains on (1 − r) * CE(clean) + r * CE(adversarial)).
 */
import * as tf from '@tensorflow/tfjs';
import { perturb } from '../../attacks/image/ascent.js';
import { attackLoss } from '../../attacks/losses.js';
import { getNorm } from '../../threats/norms.js';
import { threatModel, type ThreatModel } from '../../threats/threat-model.js';
import { inferenceLogits, meanCrossEntropy, trainingLogits } from './losses.js';
import { parseObjectiveOptions, pgdAtOptions, type PgdAtOptions } from './schemas.js';
import type { Objective, ObjectiveBatch } from './types.js';

export type { PgdAtOptions };

/** The resolved inner maximisation, shared with FGSM-RS (which is its one-step case). */
export interface InnerAscent {
  threat: ThreatModel;
  steps: number;
  stepSize: number;
  randomStart: boolean;
}

/** The inner attack at this batch's exposure: epsilon and step size scale together. */
export function exposed<T extends { threat: ThreatModel; steps: number; stepSize: number }>(inner: T, batch: ObjectiveBatch): T {
  const exposure = batch.exposure;
  if (!exposure || (exposure.epsilonScale === 1 && exposure.steps === undefined)) return inner;
  const scale = exposure.epsilonScale;
  return {
    ...inner,
    threat: { ...inner.threat, epsilon: inner.threat.epsilon * scale },
    stepSize: inner.stepSize * scale,
    steps: exposure.steps ?? inner.steps,
  };
}

/** The last iterate of `steps` ascent steps on the per-example cross-entropy, seeded by the batch. */
export function crossEntropyAscent(model: tf.LayersModel, batch: ObjectiveBatch, inner: InnerAscent): tf.Tensor {
  const { threat, steps, stepSize, randomStart } = exposed(inner, batch);
  return tf.tidy(() =>
    perturb(batch.x, {
      objective: (logits) => attackLoss('ce', logits, batch.y, false),
      logits: inferenceLogits(model),
      norm: getNorm(threat.norm),
      threat,
      steps,
      stepSize,
      randomStart,
      seed: batch.seed,
    }),
  );
}

/**
 * PGD adversarial training as a trainer objective.
 *
 * @throws UsageError `E_OBJECTIVE_OPTION` for a missing or invalid threat (the threat
 *   model's own error is the `cause`), steps < 1, stepSize <= 0, or mixRatio outside [0, 1].
 * @example
 * await trainModel({ model, train, objective: pgdAt({ threat: { norm: 'linf', epsilon: 0.3 }, steps: 10 }), ... });
 */
export function pgdAt(options: PgdAtOptions): Objective {
  const o = parseObjectiveOptions('pgd-at', pgdAtOptions, options);
  const threat = threatModel(o.threat);
  const steps = o.steps ?? 10;
  const stepSize = o.stepSize ?? (2.5 * threat.epsilon) / steps;
  const randomStart = o.randomStart ?? true;
  const mixRatio = o.mixRatio ?? 1;
  const inner: InnerAscent = { threat, steps, stepSize, randomStart };
  return {
    id: 'pgd-at',
    // Only the pure forms are plain cross-entropy on the prepared batch (r = 0 prepares a copy of x).
    ...(mixRatio === 0 || mixRatio === 1 ? { poolLoss: 'standard' as const } : {}),
    config: { threat, steps, stepSize, randomStart, mixRatio },
    // With r = 0 the adversarial term has no weight, so no attack is run at all.
    prepare: async (model, batch) => (mixRatio === 0 ? tf.clone(batch.x) : crossEntropyAscent(model, batch, inner)),
    loss: (model, batch, prepared) =>
      tf.tidy(() => {
        if (mixRatio === 0) return meanCrossEntropy(trainingLogits(model, batch.x), batch.y);
        const adversarial = meanCrossEntropy(trainingLogits(model, prepared), batch.y);
        if (mixRatio === 1) return adversarial;
        const clean = meanCrossEntropy(trainingLogits(model, batch.x), batch.y);
        return tf.add(tf.mul(1 - mixRatio, clean), tf.mul(mixRatio, adversarial)) as tf.Scalar;
      }),
  };
}

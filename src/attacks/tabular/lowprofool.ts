/**
 * LowProFool — "Imperceptible Adversarial Attacks on Tabular Data", Ballet, Renard, Aigrain,
 * Laugel, Frossard, Detyniecki, NeurIPS 2019 Workshop on Robust AI in Financial Services,
 * https://arxiv.org/abs/1911.03274
 *
 * Gradient steps on the attack loss plus λ·‖v ⊙ r‖₂, where r is the change (in the
 * constraints' scaled units) and v the feature importance: changes to features the model
 * leans on are penalised, so the attack moves the features a reviewer is least likely to
 * look at. The paper takes v from the data (|Pearson correlation| with the label); here it
 * comes from the model when not given — the mean |input gradient| of the loss over the
 * batch, in scaled units, over mutable features, normalised to unit length. Every step is
 * projected onto the constraints. Per example the result is the successful point of least
 * weighted norm, else the point of highest loss.
 * Defaults: 100 steps of 0.1 * epsilon in the scaled norm, λ = 1.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { InputError } from '../../core/errors.js';
import { nonNegativeNumber, positiveNumber, wholeNumber } from '../../core/option-schema.js';
import { attackLoss } from '../losses.js';
import { observe } from '../image/loss-gradient.js';
import { goalMet } from '../image/rows.js';
import { parseAttackOptions } from '../option-schema.js';
import type { Attack } from '../types.js';
import { attackOf, type AttackOutcome } from '../wrapper.js';
import { wrapTabularAttack, type TabularContext } from './wrapper.js';

export const lowProFoolOptions = z.strictObject({
  steps: wholeNumber(1).optional(),
  /** Step size as a multiple of epsilon, in the scaled norm; default 0.1. */
  relativeStepSize: positiveNumber().optional(),
  /** Weight λ of the importance-weighted norm; default 1. */
  lambda: nonNegativeNumber().optional(),
  /** Importance per feature (>= 0); default from the model's gradients. */
  importance: z.array(nonNegativeNumber()).max(100_000).readonly().optional(),
});
export type LowProFoolOptions = z.infer<typeof lowProFoolOptions>;

export interface LowProFoolConfig {
  steps: number;
  relativeStepSize: number;
  lambda: number;
  importance?: readonly number[];
}

const TINY = 1e-12;

/** v: given, or the mean |gradient| of the loss at the clean rows, scaled, mutable only, unit norm. */
async function importanceOf(context: TabularContext, given?: readonly number[]): Promise<Float32Array> {
  const c = context.constraints;
  let raw: Float32Array;
  if (given) {
    if (given.length !== c.features) {
      throw new InputError(
        'E_ATTACK_OPTION',
        `lowprofool importance lists ${given.length} values for rows of ${c.features} features; give one per feature.`,
        {
          details: { attack: 'lowprofool', given: given.length, features: c.features },
        },
      );
    }
    raw = Float32Array.from(given);
  } else {
    const labels = tf.tensor1d(context.labels, 'int32');
    const g = tf.tidy(() => {
      const gradient = tf.grad((input: tf.Tensor) => tf.sum(attackLoss('ce', context.model.logits(input), labels, false)))(context.x);
      return tf.mean(tf.abs(tf.reshape(gradient, [context.n, c.features])), 0);
    });
    raw = (await g.data()) as Float32Array;
    g.dispose();
    labels.dispose();
  }
  const v = Float32Array.from(raw, (value, f) => value * (c.scale[f] as number) * (c.mutable[f] as number));
  const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return norm > TINY ? v.map((x) => x / norm) : v.fill(1 / Math.sqrt(c.features));
}

async function lowProFoolSearch(context: TabularContext, config: LowProFoolConfig): Promise<AttackOutcome> {
  const { model, x, n, constraints: c, project, norm, threat, targeted, goalClasses } = context;
  const d = c.features;
  const v = await importanceOf(context, config.importance);
  const alpha = config.relativeStepSize * threat.epsilon;
  const goalT = tf.tensor1d(goalClasses, 'int32');
  const weightSq = tf.tensor1d(v.map((w, f) => (w * w) / (c.scale[f] as number) ** 2));
  const points = Float32Array.from(context.clean);
  const success = new Uint8Array(n);
  const bestPenalty = new Float64Array(n).fill(Infinity);
  const bestLoss = new Float64Array(n).fill(-Infinity);
  let current = tf.clone(x);
  try {
    for (let step = 0; step <= config.steps; step++) {
      const last = step === config.steps;
      const seen = await observe(model, current, (z) => attackLoss('ce', z, goalT, targeted), {
        gradient: !last,
        samples: 1,
        where: `lowprofool step ${step}`,
      });
      const values = (await current.data()) as Float32Array;
      for (let i = 0; i < n; i++) {
        let penalty = 0;
        for (let f = 0; f < d; f++) {
          const u = ((values[i * d + f] as number) - (context.clean[i * d + f] as number)) / (c.scale[f] as number);
          penalty += ((v[f] as number) * u) ** 2;
        }
        penalty = Math.sqrt(penalty);
        const hit = goalMet(seen.predicted[i] as number, goalClasses[i] as number, targeted);
        const loss = seen.loss[i] as number;
        const better = hit ? !success[i] || penalty < (bestPenalty[i] as number) : !success[i] && loss > (bestLoss[i] as number);
        if (better) {
          points.set(values.subarray(i * d, (i + 1) * d), i * d);
          if (hit) {
            success[i] = 1;
            bestPenalty[i] = penalty;
          } else bestLoss[i] = loss;
        }
      }
      if (last) break;
      const gradient = seen.gradient as tf.Tensor;
      const next = tf.tidy(() => {
        // ∇(λ‖v ⊙ (x − x0)/s‖₂) = λ · v² ⊙ (x − x0) / s² / ‖v ⊙ (x − x0)/s‖₂
        const delta = tf.reshape(tf.sub(current, x), [n, d]);
        const weighted = tf.mul(delta, weightSq);
        const size = tf.sqrt(tf.add(tf.sum(tf.mul(weighted, delta), 1, true), TINY));
        const penaltyGradient = tf.reshape(tf.mul(config.lambda, tf.div(weighted, size)), x.shape);
        const direction = norm.normalizeStep(tf.sub(gradient, penaltyGradient));
        return project(x, tf.add(current, tf.mul(alpha, direction)));
      });
      gradient.dispose();
      current.dispose();
      current = next;
      context.onProgress({ done: step + 1, total: config.steps });
    }
    const queries = new Int32Array(n).fill(config.steps + 1 + (config.importance ? 0 : 1));
    return { adversarial: tf.tensor(points, x.shape, 'float32'), success, queries };
  } finally {
    current.dispose();
    goalT.dispose();
    weightSq.dispose();
  }
}

/**
 * Runs LowProFool on a batch of rows.
 *
 * @throws as {@link wrapTabularAttack}; InputError `E_ATTACK_OPTION` for an importance of the wrong length.
 */
export const lowProFoolAttack = wrapTabularAttack<LowProFoolConfig>('lowprofool', 'gradients', lowProFoolSearch);

/**
 * @throws UsageError `E_ATTACK_OPTION` for an unknown option or a value out of range.
 * @example const result = await lowProFool({ lambda: 2 }).run(model, x, labels, threat, { goal: { kind: 'targeted', targets } });
 */
export function lowProFool(options: LowProFoolOptions = {}): Attack {
  const o = parseAttackOptions('lowprofool', lowProFoolOptions, options);
  const config: LowProFoolConfig = {
    steps: o.steps ?? 100,
    relativeStepSize: o.relativeStepSize ?? 0.1,
    lambda: o.lambda ?? 1,
    ...(o.importance === undefined ? {} : { importance: o.importance }),
  };
  return attackOf('lowprofool', config, lowProFoolAttack);
}

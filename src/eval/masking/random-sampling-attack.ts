/**
 * Random sampling in the threat ball: the weakest black-box adversary there is, and the
 * baseline the gradient-masking checks hold a gradient attack against (Athalye, Carlini,
 * Wagner 2018, "Obfuscated Gradients Give a False Sense of Security",
 * https://arxiv.org/abs/1802.00420; Carlini et al. 2019, "On Evaluating Adversarial
 * Robustness", https://arxiv.org/abs/1902.06705, §6: "random sampling should not beat a
 * gradient attack"). Half the samples are vertices of the L∞ ball (where linear models are
 * weakest), half uniform in the ball; for L2, uniform in the ball and on its surface.
 * Queries: one forward pass per sample per example.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { UsageError } from '../../core/errors.js';
import { wholeNumber } from '../../core/option-schema.js';
import { createRng } from '../../core/rng.js';
import { getNorm } from '../../threats/norms.js';
import type { ThreatModel } from '../../threats/threat-model.js';
import { parseAttackOptions } from '../../attacks/option-schema.js';
import type { Attack } from '../../attacks/types.js';
import { attackOf, wrapAttack, type AttackContext, type AttackOutcome } from '../../attacks/wrapper.js';

export const randomSamplingOptions = z.strictObject({
  /** Random points per example; default 64. */
  samples: wholeNumber(1).default(64),
});
/** The options as given. */
export type RandomSamplingOptions = z.input<typeof randomSamplingOptions>;

function candidate(x: tf.Tensor, threat: ThreatModel, sample: number, seed: number): tf.Tensor {
  const norm = getNorm(threat.norm);
  const { epsilon, bounds } = threat;
  return tf.tidy(() => {
    let delta = norm.randomStart(x.shape, epsilon, seed);
    if (sample % 2 === 1) {
      // Push to the boundary: the L∞ vertex, or the L2 sphere.
      delta = threat.norm === 'linf' ? tf.mul(tf.sign(delta), epsilon) : norm.project(tf.mul(delta, 1e6), epsilon);
    }
    return tf.clipByValue(tf.add(x, delta), bounds.min, bounds.max);
  });
}

async function randomSamplingSearch(context: AttackContext, config: z.infer<typeof randomSamplingOptions>): Promise<AttackOutcome> {
  const { model, x, labels, threat, n } = context;
  if (context.targeted) throw new UsageError('E_ATTACK_OPTION', 'random-sampling is untargeted only; drop the target or use pgd.');
  const { samples } = config;
  const rng = createRng(context.seed);
  const success = new Uint8Array(n);
  const queries = new Int32Array(n);
  let best = tf.clone(x);
  const labelTensor = tf.tensor1d(labels, 'int32');
  try {
    for (let s = 0; s < samples; s++) {
      const point = candidate(x, threat, s, rng.seed());
      const hit = tf.tidy(() => tf.notEqual(tf.argMax(model.logits(point), 1), labelTensor));
      const flags = await hit.data();
      hit.dispose();
      const fresh = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        if (!success[i]) queries[i] = (queries[i] as number) + 1;
        if (!success[i] && flags[i]) {
          success[i] = 1;
          fresh[i] = 1;
        }
      }
      if (fresh.some((f) => f === 1)) {
        const keep = best;
        // A 0/1 blend rather than tf.where, which tiles the mask on wasm.
        best = tf.tidy(() => {
          const mask = tf.tensor(fresh, [n, ...new Array<number>(x.rank - 1).fill(1)]);
          return tf.add(tf.mul(point, mask), tf.mul(keep, tf.sub(1, mask)));
        });
        keep.dispose();
      }
      point.dispose();
      context.onProgress({ done: s + 1, total: samples });
      if (success.every((f) => f === 1)) break;
    }
    return { adversarial: best, success, queries };
  } catch (error) {
    best.dispose();
    throw error;
  } finally {
    labelTensor.dispose();
  }
}

/** Runs random sampling on a batch through the shared attack wrapper (scores only). */
const randomSamplingAttack = wrapAttack('random-sampling', 'scores', randomSamplingSearch);

/**
 * An Attack that samples random points of the threat ball and keeps the first
 * misclassified one per example (untargeted only).
 *
 * @throws UsageError `E_ATTACK_OPTION` for samples < 1 or a targeted goal; InputError from the shared input checks.
 * @example const result = await randomSampling({ samples: 64 }).run(model, x, labels, threat, { seed: 1 });
 */
export function randomSampling(options: RandomSamplingOptions = {}): Attack {
  return attackOf('random-sampling', parseAttackOptions('random-sampling', randomSamplingOptions, options), randomSamplingAttack);
}

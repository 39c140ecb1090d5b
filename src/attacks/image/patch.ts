/**
 * Adversarial patch — "Adversarial Patch", Brown, Mané, Roy, Abadi, Gilmer, 2017,
 * https://arxiv.org/abs/1712.09665
 *
 * Norm: `patch` only; the threat's epsilon is the side `s` of the square patch. One patch
 * is learnt for the whole batch (universal across inputs): each step pastes it at a fresh
 * random location per example (location-randomised, the paper's expectation over
 * transformations restricted to translation) and takes a signed gradient step on the
 * patch, kept inside the bounds. At evaluation the patch is tried at `evalLocations`
 * random locations per example and, per example, the first location that meets the goal
 * (else the one of highest loss) is returned: the worst case over those locations.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { numberIn, wholeNumber } from '../../core/option-schema.js';
import { createRng } from '../../core/rng.js';
import { attackLoss } from '../losses.js';
import { lossOption, parseAttackOptions } from '../option-schema.js';
import type { Attack } from '../types.js';
import { attackOf, wrapAttack, type AttackContext, type AttackOutcome } from '../wrapper.js';
import { observe } from './loss-gradient.js';
import { boxSide, pastePatch, randomLocations, type Location } from './patch-placement.js';

export const patchOptions = z.strictObject({
  /** Optimisation steps on the patch (default 100). */
  steps: wholeNumber(1).default(100),
  /** Signed step as a fraction of the bounds' range (default 0.05). */
  stepSize: numberIn(0, 1, true).default(0.05),
  /** Random locations tried per example at evaluation (default 16). */
  evalLocations: wholeNumber(1).default(16),
  loss: lossOption.default('ce'),
});
export type PatchOptions = z.input<typeof patchOptions>;
type PatchConfig = z.infer<typeof patchOptions>;

/** Trains the universal patch on the batch; returns it as `[s, s, c]` (the caller disposes it). */
function trainPatch(context: AttackContext, config: PatchConfig, s: number, h: number, w: number, c: number): tf.Tensor3D {
  const { model, x, threat, targeted, goalClasses, seed } = context;
  const { min, max } = threat.bounds;
  const rng = createRng(seed);
  let patch = tf.randomUniform([s, s, c], min, max, 'float32', rng.seed()) as tf.Tensor3D;
  const targets = tf.tensor1d(goalClasses, 'int32');
  const alpha = config.stepSize * (max - min);
  for (let step = 0; step < config.steps; step++) {
    const locations = randomLocations(rng, context.n, h, w, s);
    const next = tf.tidy(() => {
      const gradient = tf.grad((p: tf.Tensor) =>
        tf.sum(attackLoss(config.loss, model.logits(pastePatch(x, p as tf.Tensor3D, locations)), targets, targeted)),
      )(patch);
      return tf.clipByValue(tf.add(patch, tf.mul(alpha, tf.sign(gradient))), min, max) as tf.Tensor3D;
    });
    patch.dispose();
    patch = next;
    context.onProgress({ done: step + 1, total: config.steps });
  }
  targets.dispose();
  return patch;
}

async function patchSearch(context: AttackContext, config: PatchConfig): Promise<AttackOutcome> {
  const { model, x, n, targeted, goalClasses } = context;
  const { side: s, h, w, c } = boxSide(x.shape, context.threat.epsilon);
  const patch = trainPatch(context, config, s, h, w, c);
  const rng = createRng(context.seed + 104729);
  const targets = tf.tensor1d(goalClasses, 'int32');
  const objective = (logits: tf.Tensor2D): tf.Tensor1D => attackLoss(config.loss, logits, targets, targeted);
  const chosen: Location[] = Array.from({ length: n }, () => ({ top: 0, left: 0 }));
  const bestLoss = new Float32Array(n).fill(-Infinity);
  const success = new Uint8Array(n);
  const queries = new Int32Array(n).fill(config.steps);
  try {
    for (let round = 0; round < config.evalLocations; round++) {
      const locations = randomLocations(rng, n, h, w, s);
      const point = pastePatch(x, patch, locations);
      const seen = await observe(model, point, objective, { gradient: false, samples: 1, where: `location ${round}` }).finally(() =>
        point.dispose(),
      );
      for (let i = 0; i < n; i++) {
        if (success[i]) continue;
        queries[i] = (queries[i] as number) + 1;
        const pred = seen.predicted[i] as number;
        const hit = targeted ? pred === goalClasses[i] : pred !== goalClasses[i];
        if (hit || (seen.loss[i] as number) > (bestLoss[i] as number)) {
          chosen[i] = locations[i] as Location;
          bestLoss[i] = seen.loss[i] as number;
          if (hit) success[i] = 1;
        }
      }
      if (success.every((v) => v === 1)) break;
    }
    // The returned points are exactly the ones whose predictions set the flags.
    return { adversarial: pastePatch(x, patch, chosen), success, queries };
  } finally {
    patch.dispose();
    targets.dispose();
  }
}

/**
 * Trains a universal location-randomised patch on the batch and applies it per example.
 *
 * @throws UsageError `E_THREAT_NORM` for a threat that is not `patch`.
 * @throws ThreatError `E_EPSILON_RANGE` for a patch side that does not fit the images.
 * @throws GradientError `E_NOT_DIFFERENTIABLE` for a model without gradients.
 */
export const patchAttack = wrapAttack('patch', 'gradients', patchSearch, ['patch']);

/**
 * @throws UsageError `E_ATTACK_OPTION` for an unknown option or a value out of range.
 * @example const r = await adversarialPatch({ steps: 50 }).run(model, x, labels, threatModel({ norm: 'patch', epsilon: 6 }));
 */
export function adversarialPatch(options: PatchOptions = {}): Attack {
  return attackOf('patch', parseAttackOptions('patch', patchOptions, options), patchAttack);
}

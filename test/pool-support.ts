/** Shared by the worker pool's tests: the 12x12 one-channel rows they attack and train on, and the in-thread reference. */
import * as tf from '@tensorflow/tfjs';

import { createAttack } from '../src/attacks/registry.js';
import { TfjsClassifier } from '../src/models/tfjs-classifier.js';
import type { ThreatModel } from '../src/threats/threat-model.js';

export const POOL_SHAPE = [12, 12, 1];
export const POOL_ROW = 144;

/** Deterministic inputs in [0, 1) for `n` rows (xorshift32), independent of any backend. */
export function poolInputs(n: number, seed: number): Float32Array {
  const out = new Float32Array(n * POOL_ROW);
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < out.length; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = s / 4294967296;
  }
  return out;
}

/** The single-process reference: `attack.run` on the whole batch in this thread. */
export async function referenceAttack(
  model: tf.LayersModel,
  attackId: string,
  options: Record<string, unknown>,
  x: Float32Array,
  labels: Int32Array,
  threat: ThreatModel,
  seed: number,
  targets?: Int32Array,
) {
  const input = tf.tensor(x, [labels.length, ...POOL_SHAPE]);
  const result = await createAttack(attackId, options).run(new TfjsClassifier(model), input, labels, threat, {
    seed,
    ...(targets ? { goal: { kind: 'targeted' as const, targets } } : {}),
  });
  const adversarial = Float32Array.from(await result.adversarial.data());
  result.adversarial.dispose();
  input.dispose();
  return { ...result, adversarial };
}

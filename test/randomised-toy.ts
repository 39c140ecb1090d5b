/**
 * A randomised toy defence for the EOT tests: `k · Σ r_i sin(ω x_i) / ω` with fresh Gaussian r
 * per forward pass added to a linear margin. The term barely moves the prediction but swamps
 * each pass's input gradient with zero-mean noise, so single-pass attacks walk at random while
 * gradients averaged over passes (EOT) find the linear direction. Not a test file.
 */
import * as tf from '@tensorflow/tfjs';
import { createRng } from '../src/core/rng.js';
import type { Dataset } from '../src/core/types.js';
import type { Classifier } from '../src/models/classifier.js';

export const D = 64;
const K = 6;
const OMEGA = 200;
export const EPSILON = 0.05;
/** Clean margin: 60% of the largest drop an L∞ attack can make (ε · ‖w‖₁ = 3.2). */
const MARGIN = 0.6 * EPSILON * D;

const rng = createRng(11);
const w = Float32Array.from({ length: D }, () => (rng.next() < 0.5 ? -1 : 1));

/** The randomised defence: each call draws new noise (seeded by a call counter, so the test is deterministic). */
export function randomised(): Classifier {
  let calls = 0;
  const wT = tf.tensor2d(w, [D, 1]);
  return {
    id: 'randomised-toy',
    inputShape: [D],
    numClasses: 2,
    bounds: { min: 0, max: 1 },
    differentiable: true,
    logits: (x) =>
      tf.tidy(() => {
        const r = tf.randomNormal([1, D], 0, 1, 'float32', 1000 + calls++);
        const margin = tf.matMul(tf.sub(x, 0.5), wT);
        const noise = tf.mul(K / OMEGA, tf.sum(tf.mul(r, tf.sin(tf.mul(OMEGA, x))), 1, true));
        const m = tf.add(margin, noise);
        return tf.concat([tf.div(m, 2), tf.div(m, -2)], 1) as tf.Tensor2D;
      }),
  };
}

/** Points with the same clean linear margin, all of class 0. */
export function batch(n: number): tf.Tensor2D {
  const values = new Float32Array(n * D);
  for (let i = 0; i < n; i++) {
    const row = Float32Array.from({ length: D }, () => 0.3 + 0.4 * rng.next());
    const m = row.reduce((s, v, j) => s + (v - 0.5) * (w[j] as number), 0);
    values.set(
      row.map((v, j) => v + ((MARGIN - m) / D) * (w[j] as number)),
      i * D,
    );
  }
  return tf.tensor2d(values, [n, D]);
}

/** Broken for the defence's mean prediction (the noise has mean zero): the linear margin is negative. */
export async function brokenOnAverage(adversarial: tf.Tensor): Promise<number> {
  const margins = tf.tidy(() => tf.matMul(tf.sub(adversarial, 0.5), tf.tensor2d(w, [D, 1])));
  const values = await margins.data();
  margins.dispose();
  return Array.from(values).filter((m) => m < 0).length;
}

/** `n` points of `batch` as a dataset, all labelled class 0. */
export function toyDataset(n: number): Dataset {
  const x = batch(n);
  const values = x.dataSync() as Float32Array;
  x.dispose();
  return {
    name: 'randomised-toy',
    x: Float32Array.from(values),
    y: new Int32Array(n),
    count: n,
    shape: [D],
    numClasses: 2,
    bounds: { min: 0, max: 1 },
  };
}

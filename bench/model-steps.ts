/**
 * The PGD step and the PGD-AT step of bench/cnn-steps.ts on any image classifier given as a
 * TF.js LayersModel (NHWC inputs in [0, 1]), with batch norm done right: the attack sees
 * the model in inference mode (running statistics), the weight update in training mode
 * (batch statistics, running statistics updated), as Rampart's `pgd-at` objective does and
 * as bench/torch_engine.py does with `model.eval()` / `model.train()`.
 *
 * Also: reading the weights and parity probe that scripts/torch_nets.py writes, and the
 * check that both sides compute the same function before anything is timed.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

import * as tf from '@tensorflow/tfjs';

import { attackLoss } from '../src/attacks/losses.js';
import { createWorkloadOn, type CnnWorkload } from './cnn-steps.js';

/** The CIFAR L∞ threat of Madry et al. (8/255, steps of 2/255), 10 attack steps per PGD-AT step. */
export const CIFAR_PGD_SETTINGS = { epsilon: 8 / 255, attackSteps: 10, stepSize: 2 / 255, learningRate: 1e-3 } as const;

export interface NamedArray {
  shape: number[];
  values: Float32Array;
}

/** DIR/weights.json + DIR/weights.bin as scripts/torch_nets.py writes them. */
export function readTorchExport(dir: string): Map<string, NamedArray> {
  const manifest = JSON.parse(readFileSync(path.join(dir, 'weights.json'), 'utf8')) as {
    entries: { name: string; shape: number[]; offset: number }[];
  };
  const bin = readFileSync(path.join(dir, 'weights.bin'));
  const out = new Map<string, NamedArray>();
  for (const e of manifest.entries) {
    const n = e.shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(n);
    for (let i = 0; i < n; i++) values[i] = bin.readFloatLE(e.offset + 4 * i);
    out.set(e.name, { shape: e.shape, values });
  }
  return out;
}

function maxRelError(ref: Float32Array, got: Float32Array): number {
  let diff = 0;
  let scale = 1;
  for (let i = 0; i < ref.length; i++) {
    diff = Math.max(diff, Math.abs(ref[i]! - got[i]!));
    scale = Math.max(scale, Math.abs(ref[i]!));
  }
  return diff / scale;
}

/**
 * Compares the TF.js model with PyTorch's probe: logits in eval and training mode and the
 * input gradient of the summed cross-entropy, as max |Δ| / max(1, max |ref|). Runs the
 * training-mode forward on a copy of the running statistics, which it puts back.
 */
export function parityErrors(model: tf.LayersModel, probe: Map<string, NamedArray>): { eval: number; train: number; gradX: number } {
  const get = (name: string) => probe.get(name) as NamedArray;
  const saved = model.getWeights().map((w) => tf.clone(w));
  try {
    return tf.tidy(() => {
      const x = tf.transpose(tf.tensor(get('x').values, get('x').shape), [0, 2, 3, 1]);
      const labels = tf.tensor1d(get('y').values, 'float32').toInt();
      const evalLogits = model.apply(x, { training: false }) as tf.Tensor;
      const g = tf.grad((input: tf.Tensor) => tf.sum(attackLoss('ce', model.apply(input) as tf.Tensor2D, labels, false)))(x);
      const gradX = tf.transpose(g, [0, 3, 1, 2]);
      const trainLogits = model.apply(x, { training: true }) as tf.Tensor;
      return {
        eval: maxRelError(get('logits_eval').values, evalLogits.dataSync() as Float32Array),
        train: maxRelError(get('logits_train').values, trainLogits.dataSync() as Float32Array),
        gradX: maxRelError(get('grad_x').values, gradX.dataSync() as Float32Array),
      };
    });
  } finally {
    model.setWeights(saved);
    tf.dispose(saved);
  }
}

/**
 * The two workloads on `model` with a seeded batch of `inputShape` noise in [0, 1].
 *
 * @example
 * const w = createModelWorkload(buildCnnZooModel('resnet20', …), [32, 32, 3], 10, 64);
 */
export function createModelWorkload(
  model: tf.LayersModel,
  inputShape: readonly number[],
  numClasses: number,
  batch: number,
  seed = 1,
): CnnWorkload {
  return createWorkloadOn(model, { inputShape, numClasses, batch, seed, settings: CIFAR_PGD_SETTINGS, ownsModel: false });
}

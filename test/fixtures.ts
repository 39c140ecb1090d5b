/** Tiny models and data made in the test process; no network, no files from outside. */
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../src/engine/backend.js';
import { loadBundledMnist, splitDataset, takeFirst } from '../src/data/index.js';
import type { Dataset } from '../src/core/types.js';
import { buildModel } from '../src/models/architectures.js';
import { TfjsClassifier } from '../src/models/tfjs-classifier.js';
import { trainModel } from '../src/training/trainer.js';

export async function engine(): Promise<void> {
  await initEngine();
}

let mnistCache: { train: Dataset; test: Dataset } | undefined;

/** 2,000 training and 200 test digits from the bundled set, split with seed 7. */
export function smallMnist(): { train: Dataset; test: Dataset } {
  if (!mnistCache) {
    const splits = splitDataset(loadBundledMnist(), { seed: 7, fractions: { train: 0.8, validation: 0.1, test: 0.1 } });
    mnistCache = { train: takeFirst(splits.train, 2000), test: takeFirst(splits.test, 200) };
  }
  return mnistCache;
}

let trained: TfjsClassifier | undefined;

/** An MLP trained for two epochs on 2,000 digits: accurate enough (~90%) to attack meaningfully. */
export async function trainedMlp(): Promise<TfjsClassifier> {
  if (!trained) {
    await engine();
    const model = buildModel('mlp', { inputShape: [28, 28, 1], numClasses: 10, seed: 3 });
    await trainModel({ model, train: smallMnist().train, epochs: 2, batchSize: 64, optimizer: 'adam', learningRate: 2e-3, seed: 3 });
    trained = new TfjsClassifier(model, { id: 'mlp-fixture' });
  }
  return trained;
}

/**
 * A linear classifier with fixed weights over `dims` features and wide bounds, so that
 * clipping never binds and attacks have analytic optima.
 */
export function linearModel(weights: number[][], bias: number[]): TfjsClassifier {
  const dims = weights[0]?.length ?? 0;
  const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [dims], units: weights.length, useBias: true })] });
  model.layers[0]?.setWeights([tf.tensor2d(weights).transpose(), tf.tensor1d(bias)]);
  return new TfjsClassifier(model, { id: 'linear-fixture', bounds: { min: -100, max: 100 } });
}

/** Asserts the engine holds no more tensors after `fn` than before it. */
export async function tensorsAfter(fn: () => Promise<void>): Promise<number> {
  const before = tf.memory().numTensors;
  await fn();
  return tf.memory().numTensors - before;
}

/**
 * The image part of the text-channel plans the run tests use (a plan needs one): an MLP
 * trained for one epoch on 300 digits and evaluated with FGSM on 20, against a `linf-0.1`
 * threat the plan lists. Interpolate it into the plan's YAML at the top level.
 */
export const TINY_IMAGE_PLAN_PART = `data: { dataset: mnist, splitSeed: 1, trainLimit: 300 }
model:
  architecture: mlp
  baseline: { epochs: 1, learningRate: 0.002 }
training:
  method: standard
  epochs: 1
  learningRate: 0.002
evaluation:
  limit: 20
  attacks: [{ id: fgsm }]
  suite: none
  masking: false
  temperatureScaling: false
  latencySamples: 10
  examples: 1
`;

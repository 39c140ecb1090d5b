/**
 * Model architectures Rampart builds from an id. All end in raw logits (no softmax) so
 * losses and attacks work on unsaturated scores. Initialisers are seeded so the same seed
 * gives the same starting weights.
 */
import * as tf from '@tensorflow/tfjs';
import { UsageError, listChoices } from '../core/errors.js';
import { createRng } from '../core/rng.js';

export const ARCHITECTURES = ['cnn', 'cnn-large', 'mlp', 'linear'] as const;
export type ArchitectureId = (typeof ARCHITECTURES)[number];

export interface ArchitectureOptions {
  inputShape: readonly number[];
  numClasses: number;
  seed: number;
  /**
   * `mlp` only: a frozen first layer mapping each flattened feature to (x - mean) / std,
   * so tabular rows in raw units (°C, %RH) train well and attacks see the raw units.
   */
  standardize?: { readonly mean: readonly number[]; readonly std: readonly number[] };
}

function initializers(seed: number): () => { kernelInitializer: ReturnType<typeof tf.initializers.glorotUniform> } {
  const rng = createRng(seed);
  return () => ({ kernelInitializer: tf.initializers.glorotUniform({ seed: rng.seed() }) });
}

/** conv3x3-32, pool2, conv3x3-64, pool2, dense128, dense(classes): the MNIST workhorse. */
function cnn({ inputShape, numClasses, seed }: ArchitectureOptions): tf.Sequential {
  const init = initializers(seed);
  return tf.sequential({
    name: 'cnn',
    layers: [
      tf.layers.conv2d({ inputShape: [...inputShape], filters: 32, kernelSize: 3, activation: 'relu', ...init() }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu', ...init() }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 128, activation: 'relu', ...init() }),
      tf.layers.dense({ units: numClasses, ...init() }),
    ],
  });
}

/**
 * The MNIST network of Madry et al. 2018 (conv5x5-32 same, pool2, conv5x5-64 same, pool2,
 * dense1024, dense(classes)): about 5x the compute of `cnn` and 14x its parameters. The
 * capacity matters for adversarial training at L∞ 0.3, where `cnn` underfits (its
 * adversarial training loss stays high).
 */
function cnnLarge({ inputShape, numClasses, seed }: ArchitectureOptions): tf.Sequential {
  const init = initializers(seed);
  return tf.sequential({
    name: 'cnn-large',
    layers: [
      tf.layers.conv2d({ inputShape: [...inputShape], filters: 32, kernelSize: 5, padding: 'same', activation: 'relu', ...init() }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: 64, kernelSize: 5, padding: 'same', activation: 'relu', ...init() }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 1024, activation: 'relu', ...init() }),
      tf.layers.dense({ units: numClasses, ...init() }),
    ],
  });
}

/** Sets the frozen affine layer of `standardize`: a diagonal kernel 1/std and a bias -mean/std. */
function setStandardizer(layer: tf.layers.Layer, features: number, standardize: NonNullable<ArchitectureOptions['standardize']>): void {
  const { mean, std } = standardize;
  if (mean.length !== features || std.length !== features || std.some((s) => !(s > 0) || !Number.isFinite(s))) {
    throw new UsageError(
      'E_ARCHITECTURE_OPTION',
      `standardize needs ${features} means and ${features} finite standard deviations > 0 (one per input feature); got ${mean.length} and ${std.length}.`,
      { details: { features, mean: mean.length, std: std.length } },
    );
  }
  const kernel = new Float32Array(features * features);
  for (let f = 0; f < features; f++) kernel[f * features + f] = 1 / (std[f] as number);
  const weights = [tf.tensor2d(kernel, [features, features]), tf.tensor1d(Float32Array.from(mean, (m, f) => -m / (std[f] as number)))];
  layer.setWeights(weights);
  for (const w of weights) w.dispose();
}

/** Two hidden layers of 256; fast, and a useful contrast to the CNN. Takes images or 1-D rows (tabular data). */
function mlp({ inputShape, numClasses, seed, standardize }: ArchitectureOptions): tf.Sequential {
  const init = initializers(seed);
  const features = inputShape.reduce((a, b) => a * b, 1);
  const scaler = standardize ? tf.layers.dense({ units: features, trainable: false, name: 'standardize' }) : undefined;
  // Flatten takes rank >= 3 batches; a 1-D row needs only an input layer.
  const input =
    inputShape.length === 1 ? tf.layers.inputLayer({ inputShape: [...inputShape] }) : tf.layers.flatten({ inputShape: [...inputShape] });
  const model = tf.sequential({
    name: 'mlp',
    layers: [
      input,
      ...(scaler ? [scaler] : []),
      tf.layers.dense({ units: 256, activation: 'relu', ...init() }),
      tf.layers.dense({ units: 256, activation: 'relu', ...init() }),
      tf.layers.dense({ units: numClasses, ...init() }),
    ],
  });
  if (scaler && standardize) setStandardizer(scaler, features, standardize);
  return model;
}

/** A single affine map; attacks on it have analytic answers, which tests rely on. */
function linear({ inputShape, numClasses, seed }: ArchitectureOptions): tf.Sequential {
  const init = initializers(seed);
  return tf.sequential({
    name: 'linear',
    layers: [tf.layers.flatten({ inputShape: [...inputShape] }), tf.layers.dense({ units: numClasses, ...init() })],
  });
}

const BUILDERS: Record<ArchitectureId, (o: ArchitectureOptions) => tf.Sequential> = { cnn, 'cnn-large': cnnLarge, mlp, linear };

/**
 * Builds an untrained model.
 *
 * @throws UsageError `E_UNKNOWN_ARCHITECTURE` listing the valid ids; `E_ARCHITECTURE_OPTION`
 *   for a `standardize` that does not match the input's features.
 * @example
 * const model = buildModel('cnn', { inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
 */
export function buildModel(id: string, options: ArchitectureOptions): tf.Sequential {
  if (!(ARCHITECTURES as readonly string[]).includes(id)) {
    throw new UsageError('E_UNKNOWN_ARCHITECTURE', `Unknown architecture '${id}'; use ${listChoices(ARCHITECTURES)}.`, {
      details: { value: id, valid: ARCHITECTURES },
    });
  }
  return BUILDERS[id as ArchitectureId](options);
}

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

/** Two hidden layers of 256; fast, and a useful contrast to the CNN. */
function mlp({ inputShape, numClasses, seed }: ArchitectureOptions): tf.Sequential {
  const init = initializers(seed);
  return tf.sequential({
    name: 'mlp',
    layers: [
      tf.layers.flatten({ inputShape: [...inputShape] }),
      tf.layers.dense({ units: 256, activation: 'relu', ...init() }),
      tf.layers.dense({ units: 256, activation: 'relu', ...init() }),
      tf.layers.dense({ units: numClasses, ...init() }),
    ],
  });
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
 * @throws UsageError `E_UNKNOWN_ARCHITECTURE` listing the valid ids.
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

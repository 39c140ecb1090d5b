/**
 * A text classifier over hashed n-gram features: a small TF.js MLP (or, with no hidden
 * layer, logistic regression). Queries (`predictProba`) run on a snapshot of the weights in
 * plain JavaScript over the sparse features, because an attack makes thousands of queries
 * per message and a dense `[batch, 65536]` input would be mostly zeros; the TF.js graph is
 * the white-box path (gradients from the feature vector to the logits) and the training
 * path. Both compute the same function; a test holds them together.
 */
import * as tf from '@tensorflow/tfjs';
import { InputError } from '../../core/errors.js';
import type { TextClassifier, TextWhiteBox } from './text-classifier.js';
import { HashedNgramFeaturizer, type FeaturizerConfig, type SparseVector } from './featurizer.js';

/** What describes a hashed text model besides its weights; stored with it. */
export interface HashedTextModelInfo {
  readonly architecture: 'hashed-mlp';
  /** Hidden units; 0 means a linear (logistic-regression) model. */
  readonly hidden: number;
  readonly featurizer: FeaturizerConfig;
  /**
   * Whether the model was trained on normalised text. Such a model is meant to sit behind
   * `normalizedClassifier`; saved so a loaded model can be deployed the same way.
   */
  readonly trainedOnNormalizedText: boolean;
}

/**
 * Builds the TF.js graph of a hashed text model with seeded initial weights.
 *
 * @throws UsageError from the featurizer for a bad feature configuration.
 * @example
 * const model = buildHashedTextModel({ buckets: 4096, maxWordNgram: 2, charNgrams: [3, 5] }, 32, 2, 1);
 */
export function buildHashedTextModel(featurizer: FeaturizerConfig, hidden: number, numClasses: number, seed: number): tf.LayersModel {
  const inputShape = [featurizer.buckets];
  const layers: tf.layers.Layer[] =
    hidden > 0
      ? [
          tf.layers.dense({ inputShape, units: hidden, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed }) }),
          tf.layers.dense({ units: numClasses, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }),
        ]
      : [tf.layers.dense({ inputShape, units: numClasses, kernelInitializer: tf.initializers.glorotUniform({ seed }) })];
  return tf.sequential({ layers });
}

interface WeightSnapshot {
  w1: Float32Array;
  b1: Float32Array;
  w2?: Float32Array;
  b2?: Float32Array;
  width: number;
}

/**
 * A {@link TextClassifier} over hashed n-grams. It takes a snapshot of the model's weights
 * when built; a model trained further needs a new instance. The instance owns the model:
 * `dispose()` frees it.
 */
export class HashedTextClassifier implements TextClassifier {
  readonly id: string;
  readonly classes: readonly string[];
  readonly model: tf.LayersModel;
  readonly info: HashedTextModelInfo;
  readonly featurizer: HashedNgramFeaturizer;
  readonly whiteBox: TextWhiteBox;
  private readonly weights: WeightSnapshot;

  /**
   * @throws InputError `E_TEXT_MODEL_SHAPE` when the model's input or output width does
   *   not match the featurizer's bucket count or the number of classes.
   */
  constructor(model: tf.LayersModel, options: { id: string; classes: readonly string[]; info: HashedTextModelInfo }) {
    this.id = options.id;
    this.classes = Object.freeze([...options.classes]);
    this.model = model;
    this.info = options.info;
    this.featurizer = new HashedNgramFeaturizer(options.info.featurizer);
    const inputWidth = model.inputs[0]?.shape[1];
    const outputWidth = model.outputs[0]?.shape[1];
    if (inputWidth !== this.featurizer.size || outputWidth !== this.classes.length) {
      throw new InputError(
        'E_TEXT_MODEL_SHAPE',
        `HashedTextClassifier '${this.id}': the model maps ${String(inputWidth)} features to ${String(outputWidth)} outputs, but the featurizer has ${this.featurizer.size} buckets and there are ${this.classes.length} classes.`,
        { details: { inputWidth, outputWidth, buckets: this.featurizer.size, classes: this.classes } },
      );
    }
    this.weights = snapshot(model);
    const featurizer = this.featurizer;
    this.whiteBox = {
      features: (texts) => tf.tensor2d(featurizer.dense(texts), [texts.length, featurizer.size]),
      logitsFromFeatures: (features) => model.apply(features, { training: false }) as tf.Tensor2D,
      featureIndicesOf: (word) => featurizer.indicesOfWord(word),
    };
  }

  /** Class probabilities per text (softmax of the logits), computed on the sparse features. */
  async predictProba(texts: readonly string[]): Promise<Float32Array[]> {
    return texts.map((text) => this.probaOf(text));
  }

  /** Synchronous form of {@link predictProba} for one text. */
  probaOf(text: string): Float32Array {
    const { indices, values } = this.featurizer.sparse(text);
    const { w1, b1, width } = this.weights;
    const h = Float64Array.from(b1);
    for (let k = 0; k < indices.length; k++) {
      const base = (indices[k] as number) * width;
      const v = values[k] as number;
      for (let j = 0; j < width; j++) h[j] = (h[j] as number) + v * (w1[base + j] as number);
    }
    return softmax(this.logitsFromHidden(h));
  }

  /**
   * The gradient of log p(`label`) with respect to the features at `vector`, as a function
   * of a feature index. Computed from the weight snapshot in plain JavaScript and only where
   * asked: a caller typically needs it at a few hundred of the 2^16 features, and the TF.js
   * input gradient of the dense graph costs far more than the forward pass on wasm.
   */
  labelGradientAt(vector: SparseVector, label: number): (index: number) => number {
    const { w1, b1, w2, width } = this.weights;
    const classes = this.classes.length;
    const h = Float64Array.from(b1);
    for (let k = 0; k < vector.indices.length; k++) {
      const base = (vector.indices[k] as number) * width;
      const v = vector.values[k] as number;
      for (let j = 0; j < width; j++) h[j] = (h[j] as number) + v * (w1[base + j] as number);
    }
    const logits = this.logitsFromHidden(h);
    // d log p(label) / d logits = onehot(label) - p.
    const p = softmax(logits);
    const dLogits = Float64Array.from(p, (pc, c) => (c === label ? 1 : 0) - pc);
    let dFirst: Float64Array;
    if (w2 === undefined) dFirst = dLogits;
    else {
      dFirst = new Float64Array(width);
      for (let j = 0; j < width; j++) {
        if ((h[j] as number) <= 0) continue;
        let sum = 0;
        for (let c = 0; c < classes; c++) sum += (w2[j * classes + c] as number) * (dLogits[c] as number);
        dFirst[j] = sum;
      }
    }
    return (index) => {
      const base = index * width;
      let sum = 0;
      for (let j = 0; j < width; j++) sum += (w1[base + j] as number) * (dFirst[j] as number);
      return sum;
    };
  }

  private logitsFromHidden(h: Float64Array): Float64Array {
    const { w2, b2, width } = this.weights;
    if (w2 === undefined || b2 === undefined) return h;
    const classes = this.classes.length;
    const logits = Float64Array.from(b2);
    for (let j = 0; j < width; j++) {
      const a = Math.max(0, h[j] as number);
      if (a === 0) continue;
      for (let c = 0; c < classes; c++) logits[c] = (logits[c] as number) + a * (w2[j * classes + c] as number);
    }
    return logits;
  }

  /** Frees the TF.js model. */
  dispose(): void {
    this.model.dispose();
  }
}

function snapshot(model: tf.LayersModel): WeightSnapshot {
  const tensors = model.getWeights();
  const arrays = tensors.map((t) => t.dataSync() as Float32Array);
  const shapes = tensors.map((t) => t.shape);
  if (arrays.length === 2) return { w1: arrays[0] as Float32Array, b1: arrays[1] as Float32Array, width: shapes[0]?.[1] as number };
  return {
    w1: arrays[0] as Float32Array,
    b1: arrays[1] as Float32Array,
    w2: arrays[2] as Float32Array,
    b2: arrays[3] as Float32Array,
    width: shapes[0]?.[1] as number,
  };
}

function softmax(logits: Float64Array): Float32Array {
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v);
  let sum = 0;
  const out = new Float32Array(logits.length);
  for (let i = 0; i < logits.length; i++) {
    const e = Math.exp((logits[i] as number) - max);
    out[i] = e;
    sum += e;
  }
  for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) / sum;
  return out;
}

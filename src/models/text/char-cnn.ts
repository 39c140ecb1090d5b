/**
 * A character-level CNN text classifier (Zhang, Zhao & LeCun 2015, "Character-level
 * Convolutional Networks for Text Classification", https://arxiv.org/abs/1509.01626, much
 * smaller): one-hot characters → a linear embedding → two convolutions over the character
 * axis (conv2d of height 1, which the wasm backend trains with Rampart's kernels) with a
 * max-pool between → global max-pool → dense logits. It reads a word through the characters
 * around it, so a disguised or dropped word still leaves its context in the score, where the
 * hashed n-gram filter loses the word entirely.
 *
 * Input length is bounded (`maxChars`) before anything is tensorised; each text is padded to
 * a length that depends on its own length only, and texts are scored in groups of equal
 * padded length, so a text's score does not depend on its batch.
 */
import * as tf from '@tensorflow/tfjs';
import { InputError, UsageError } from '../../core/errors.js';
import type { TextClassifier } from './text-classifier.js';
import { CHAR_ALPHABET_SIZE, charCodes, checkMaxChars, oneHotBatch, paddedLength } from './char-codes.js';

/** The char-CNN's shape; stored with the model. */
export interface CharCnnConfig {
  /** Characters read per text (the rest is cut), in [16, 8192]. */
  readonly maxChars: number;
  /** Width of the character embedding. */
  readonly embedding: number;
  /** Filters of each convolution. */
  readonly filters: number;
  /** Characters each convolution window spans. */
  readonly kernel: number;
  /** Units of a dense ReLU layer between the pooled features and the logits; 0 for none. */
  readonly hidden: number;
  /**
   * Share of the pooled features dropped in training, in [0, 0.9); 0 for none. A model
   * stored without it has none.
   */
  readonly dropout?: number;
}

/**
 * Default shape. 64 filters over a 32-wide embedding (with or without dropout) did no
 * better on SpamAssassin (test F1 at 0.5 of 91.8-94.6 against 93.6, single seeds) and cost
 * about 7x the time per query (bench:text, over the 5x of the n-gram filter issue 26 allows);
 * what the old defaults lacked was training (train-char-cnn.ts), see bench/RESULTS.md.
 */
export const DEFAULT_CHAR_CNN: CharCnnConfig = Object.freeze({
  maxChars: 1024,
  embedding: 16,
  filters: 32,
  kernel: 5,
  hidden: 0,
  dropout: 0,
});

/** What describes a char-CNN besides its weights; stored with it. */
export interface CharCnnModelInfo {
  readonly architecture: 'char-cnn';
  readonly cnn: CharCnnConfig;
  /** Trained on normalised text: meant to sit behind `normalizedClassifier`. */
  readonly trainedOnNormalizedText: boolean;
}

/** Largest embedding, filter count and kernel: bounds the model's size and per-query cost. */
const LIMITS = { embedding: 128, filters: 256, kernel: 15, hidden: 512 } as const;

/**
 * Checks a char-CNN configuration.
 *
 * @throws UsageError `E_CHAR_CNN_OPTION` naming the field and its range.
 */
export function checkCharCnnConfig(config: CharCnnConfig): void {
  checkMaxChars(config.maxChars);
  for (const key of ['embedding', 'filters', 'kernel', 'hidden'] as const) {
    const v = config[key];
    const min = key === 'hidden' ? 0 : 1;
    if (!Number.isInteger(v) || v < min || v > LIMITS[key]) {
      throw new UsageError('E_CHAR_CNN_OPTION', `char-CNN: ${key} must be a whole number in [${min}, ${LIMITS[key]}], got ${String(v)}.`, {
        details: { [key]: v },
      });
    }
  }
  const dropout = config.dropout ?? 0;
  if (!(dropout >= 0 && dropout < 0.9)) {
    throw new UsageError('E_CHAR_CNN_OPTION', `char-CNN: dropout must be a share in [0, 0.9), got ${String(config.dropout)}.`, {
      details: { dropout: config.dropout },
    });
  }
}

/**
 * Builds the char-CNN graph with seeded initial weights; its input is `[batch, 1, length, alphabet]`
 * one-hot characters (any length), its output the class logits.
 *
 * @throws UsageError `E_CHAR_CNN_OPTION` for a bad configuration.
 * @example const model = buildCharCnnModel(DEFAULT_CHAR_CNN, 2, 1);
 */
export function buildCharCnnModel(config: CharCnnConfig, numClasses: number, seed: number): tf.LayersModel {
  checkCharCnnConfig(config);
  const init = (k: number): ReturnType<typeof tf.initializers.glorotUniform> => tf.initializers.glorotUniform({ seed: seed + k });
  const conv = (k: number): tf.layers.Layer =>
    tf.layers.conv2d({
      filters: config.filters,
      kernelSize: [1, config.kernel],
      padding: 'same',
      activation: 'relu',
      kernelInitializer: init(k),
      name: `conv${k}`,
    });
  return tf.sequential({
    layers: [
      // A dense layer over one-hot characters is an embedding whose gradient the wasm backend has (no segment sums).
      tf.layers.dense({
        inputShape: [1, null as unknown as number, CHAR_ALPHABET_SIZE],
        units: config.embedding,
        useBias: false,
        kernelInitializer: init(0),
        name: 'embed',
      }),
      conv(1),
      tf.layers.maxPooling2d({ poolSize: [1, 2], strides: [1, 2], name: 'pool1' }),
      conv(2),
      tf.layers.globalMaxPooling2d({ name: 'pool2' }),
      ...((config.dropout ?? 0) > 0 ? [tf.layers.dropout({ rate: config.dropout as number, seed: seed + 5, name: 'dropout' })] : []),
      ...(config.hidden > 0
        ? [tf.layers.dense({ units: config.hidden, activation: 'relu', kernelInitializer: init(4), name: 'hidden' })]
        : []),
      tf.layers.dense({ units: numClasses, kernelInitializer: init(3), name: 'logits' }),
    ],
  });
}

/** Texts per forward pass: bounds the one-hot input (texts × maxChars × alphabet floats). */
const MAX_BATCH = 64;

/**
 * A {@link TextClassifier} over a char-CNN. Unlike the hashed filter, queries run through
 * the TF.js graph. The instance owns the model: `dispose()` frees it.
 */
export class CharCnnTextClassifier implements TextClassifier {
  readonly id: string;
  readonly classes: readonly string[];
  readonly model: tf.LayersModel;
  readonly info: CharCnnModelInfo;

  /**
   * @throws InputError `E_TEXT_MODEL_SHAPE` when the model's output width is not the number of classes.
   * @throws UsageError `E_CHAR_CNN_OPTION` for a bad configuration.
   */
  constructor(model: tf.LayersModel, options: { id: string; classes: readonly string[]; info: CharCnnModelInfo }) {
    checkCharCnnConfig(options.info.cnn);
    this.id = options.id;
    this.classes = Object.freeze([...options.classes]);
    this.model = model;
    this.info = options.info;
    const outputWidth = model.outputs[0]?.shape[1];
    const inputWidth = model.inputs[0]?.shape[3];
    if (outputWidth !== this.classes.length || inputWidth !== CHAR_ALPHABET_SIZE) {
      throw new InputError(
        'E_TEXT_MODEL_SHAPE',
        `CharCnnTextClassifier '${this.id}': the model maps ${String(inputWidth)} character codes to ${String(outputWidth)} outputs, but the alphabet has ${CHAR_ALPHABET_SIZE} codes and there are ${this.classes.length} classes.`,
        { details: { inputWidth, outputWidth, classes: this.classes } },
      );
    }
  }

  /** Class probabilities per text (softmax of the logits). */
  async predictProba(texts: readonly string[]): Promise<Float32Array[]> {
    const { maxChars } = this.info.cnn;
    const codes = texts.map((t) => charCodes(t, maxChars));
    const out: Float32Array[] = new Array<Float32Array>(texts.length);
    // Groups of equal padded length: each text's padding is its own (see paddedLength).
    const groups = new Map<number, number[]>();
    codes.forEach((c, i) => {
      const length = paddedLength(c.length, maxChars);
      const group = groups.get(length);
      if (group) group.push(i);
      else groups.set(length, [i]);
    });
    const k = this.classes.length;
    for (const [length, members] of groups) {
      for (let start = 0; start < members.length; start += MAX_BATCH) {
        const chunk = members.slice(start, start + MAX_BATCH);
        const probs = tf.tidy(() => {
          const x = tf.tensor4d(
            oneHotBatch(
              chunk.map((i) => codes[i] as Uint8Array),
              length,
            ),
            [chunk.length, 1, length, CHAR_ALPHABET_SIZE],
          );
          return tf.softmax(this.model.apply(x, { training: false }) as tf.Tensor2D);
        });
        const data = (await probs.data()) as Float32Array;
        probs.dispose();
        chunk.forEach((i, r) => {
          out[i] = data.slice(r * k, (r + 1) * k);
        });
      }
    }
    return out;
  }

  /** Frees the TF.js model. */
  dispose(): void {
    this.model.dispose();
  }
}

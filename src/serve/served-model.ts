/**
 * A model as the server runs it: one forward pass that yields both the logits and the
 * penultimate features (the OOD layer and the drift monitor need the features, and a
 * second pass would double the cost), temperature-scaled probabilities, and the model's
 * fitted OOD detector. Image models are TF.js LayersModels; text models are any
 * TextClassifier.
 */
import * as tf from '@tensorflow/tfjs';
import { sizeOf } from '../core/types.js';
import type { Classifier } from '../models/classifier.js';
import type { StoredClassifier } from '../models/store.js';
import type { TextClassifier } from '../models/text/text-classifier.js';
import type { NormalizeTextOptions } from '../defenses/normalize-text/normalize.js';
import type { ImageBatch, ModelOutput, ModelView } from '../defenses/layer.js';
import type { OodDetector } from '../defenses/ood/index.js';
import { fusedHeads } from '../defenses/ensemble/fused-serve.js';

/** Where a served model came from, for `/v1/models`, logs and the audit trail. */
export type ModelRef = { source: 'dir'; dir: string } | { source: 'registry'; digest: string; tag: string; dir: string };

export interface ServedModel {
  readonly view: ModelView;
  readonly ref: ModelRef;
  readonly classes: readonly string[];
  /** Softmax temperature from calibration (1 when uncalibrated). */
  readonly temperature: number;
  /** Set after loading when the detector is fitted at startup. */
  ood: OodDetector | undefined;
  /** The plain classifier (image models), for canary probes and attacks. */
  readonly classifier: Classifier | undefined;
  /** The plain text classifier (text models). */
  readonly textClassifier: TextClassifier | undefined;
  /**
   * The normalisation a text model was trained behind, which `textClassifier` applies itself
   * (a filter must read text as in training); the normalize-text layer then reports what
   * these options undo instead of rewriting the text with its own.
   */
  readonly textNormalization?: NormalizeTextOptions;
  /** Model metadata for `/v1/models`. */
  readonly info: Record<string, unknown>;
  /** When this model went live (set by the holder). */
  loadedAt: string;
  infer(input: { batch?: ImageBatch; texts?: readonly string[] }): Promise<ModelOutput>;
  /** Frees the model's tensors; the holder calls it once no request uses the model. */
  dispose(): void;
}

/** Softmax of `logits / temperature`, stable against overflow. */
export function softmaxRow(logits: Float32Array, temperature: number): Float32Array {
  const out = new Float32Array(logits.length);
  let max = -Infinity;
  for (const v of logits) if (v > max) max = v;
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    const e = Math.exp(((logits[i] as number) - max) / temperature);
    out[i] = e;
    sum += e;
  }
  for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) / sum;
  return out;
}

function argmax(p: Float32Array): number {
  let best = 0;
  for (let i = 1; i < p.length; i++) if ((p[i] as number) > (p[best] as number)) best = i;
  return best;
}

function rows(flat: Float32Array, count: number): Float32Array[] {
  const width = flat.length / count;
  return Array.from({ length: count }, (_, i) => flat.slice(i * width, (i + 1) * width));
}

/** Builds the model output from logit rows: calibrated probabilities and labels. */
export function outputFromLogits(logits: Float32Array[], temperature: number, features?: Float32Array[]): ModelOutput {
  const probabilities = logits.map((l) => softmaxRow(l, temperature));
  const labels = Int32Array.from(probabilities, argmax);
  return features ? { logits, probabilities, labels, features } : { logits, probabilities, labels };
}

export interface ServedModelOptions {
  ref: ModelRef;
  id: string;
  temperature?: number;
  ood?: OodDetector;
  classes?: readonly string[];
}

/**
 * Wraps a loaded TF.js model. The feature model shares the original's layers (and
 * weights), so it adds no memory; disposing the served model disposes the original.
 */
export function imageServedModel(stored: StoredClassifier, options: ServedModelOptions): ServedModel {
  const model = stored.model;
  const last = model.layers[model.layers.length - 1];
  const penultimate = last?.input;
  const usable = penultimate !== undefined && !Array.isArray(penultimate) && penultimate.shape.length === 2 && model.layers.length >= 2;
  // A fused ensemble (an Average of member logits on top): the members' logits in one pass, mean and labels in JS.
  const fused = fusedHeads(model, { dir: stored.dir });
  const twoHeads = usable ? tf.model({ inputs: model.inputs, outputs: [penultimate, model.outputs[0] as tf.SymbolicTensor] }) : undefined;
  const softmaxOutput = (last?.getConfig() as { activation?: string } | undefined)?.activation === 'softmax';
  const classifier = stored.classifier;
  const temperature = options.temperature ?? 1;
  const numClasses = classifier.numClasses;
  return {
    view: { id: options.id, kind: 'image', inputShape: classifier.inputShape, bounds: classifier.bounds, numClasses },
    ref: options.ref,
    classes: options.classes ?? Array.from({ length: numClasses }, (_, i) => String(i)),
    temperature,
    ood: options.ood,
    classifier,
    textClassifier: undefined,
    info: { ...stored.info },
    loadedAt: new Date().toISOString(),
    infer({ batch }) {
      if (!batch) throw new TypeError('image model called without a batch');
      if (fused) return fused.run(batch).then(({ logits, memberLabels }) => ({ ...outputFromLogits(logits, temperature), memberLabels }));
      const [features, logits] = tf.tidy(() => {
        const x = tf.tensor(batch.x, [batch.count, ...batch.shape]);
        if (twoHeads) {
          const [f, out] = twoHeads.apply(x, { training: false }) as [tf.Tensor, tf.Tensor];
          return [f, softmaxOutput ? tf.log(tf.clipByValue(out, 1e-12, 1)) : out];
        }
        return [undefined, classifier.logits(x)];
      });
      // dataSync: the wasm backend computes synchronously anyway, and this skips a microtask hop.
      const logitRows = rows(logits.dataSync() as Float32Array, batch.count);
      const featureRows = features ? rows(features.dataSync() as Float32Array, batch.count) : undefined;
      logits.dispose();
      features?.dispose();
      return Promise.resolve(outputFromLogits(logitRows, temperature, featureRows));
    },
    dispose() {
      fused?.dispose();
      model.dispose();
    },
  };
}

/**
 * Wraps a TextClassifier. Logits are log-probabilities (what the classifier exposes). No
 * features: a hashed text model's feature vector is tens of thousands of sparse columns,
 * so an OOD detector for text works on the logits.
 */
export function textServedModel(
  text: TextClassifier,
  options: ServedModelOptions & { dispose?: () => void; normalization?: NormalizeTextOptions; info?: Record<string, unknown> },
): ServedModel {
  const temperature = options.temperature ?? 1;
  return {
    view: { id: options.id, kind: 'text', inputShape: [], bounds: { min: 0, max: 0 }, numClasses: text.classes.length },
    ref: options.ref,
    classes: text.classes,
    temperature,
    ood: options.ood,
    classifier: undefined,
    textClassifier: text,
    ...(options.normalization ? { textNormalization: options.normalization } : {}),
    info: { classes: [...text.classes], ...options.info },
    loadedAt: new Date().toISOString(),
    async infer({ texts }) {
      if (!texts) throw new TypeError('text model called without texts');
      const proba = await text.predictProba(texts);
      return outputFromLogits(
        proba.map((p) => Float32Array.from(p, (v) => Math.log(Math.max(v, 1e-12)))),
        temperature,
      );
    },
    dispose() {
      options.dispose?.();
    },
  };
}

/** Size of one example of a served image model. */
export function exampleSize(model: ServedModel): number {
  return sizeOf(model.view.inputShape);
}

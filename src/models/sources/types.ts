/**
 * Where a model comes from, as a plan or the command line names it: built by Rampart, an
 * ONNX file imported as a differentiable TF.js graph, any ONNX file through onnxruntime (a
 * score target), a TF.js model, or an HTTP endpoint. Every source loads into a
 * {@link Classifier} at the access level it offers, plus the identity the registry records.
 */
import type { Classifier } from '../classifier.js';

export const MODEL_SOURCE_KINDS = ['built', 'onnx', 'onnxruntime', 'tfjs', 'http'] as const;
export type ModelSourceKind = (typeof MODEL_SOURCE_KINDS)[number];

/**
 * Declared preprocessing between the data's own units (e.g. [0,1] pixels, NHWC) and what the
 * model takes. Threat budgets stay in the data's units; the normalisation is part of the
 * differentiated graph.
 */
export interface Preprocessing {
  /** The layout the model takes; data is always NHWC (`[h, w, c]` per example). */
  readonly layout?: 'nhwc' | 'nchw';
  /** Multiply inputs by this first (e.g. 255 for a model trained on [0,255]). */
  readonly scale?: number;
  /** Per-channel mean and standard deviation, applied after scaling: `(x * scale - mean) / std`. */
  readonly mean?: readonly number[];
  readonly std?: readonly number[];
}

/** How the registry names an external model: by the file's content, or by endpoint and probe answers. */
export type ModelIdentity =
  | { readonly kind: 'file'; readonly digest: string; readonly path: string }
  | { readonly kind: 'endpoint'; readonly url: string; readonly fingerprint: string };

/** A loaded model: the target, its identity, and what to release when done. */
export interface LoadedModel {
  readonly classifier: Classifier;
  readonly source: ModelSourceKind;
  readonly identity: ModelIdentity;
  /** Frees tensors, sessions and sockets; safe to call twice. */
  dispose(): void;
}

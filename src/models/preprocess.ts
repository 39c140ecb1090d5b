/**
 * Declared preprocessing as part of the model: a {@link Classifier} that takes data in its
 * own units (NHWC, e.g. [0,1] pixels) and feeds the wrapped model what it was trained on
 * (scaled, normalised per channel, NCHW if asked). The transform is TF.js ops inside
 * `logits`, so gradients flow through it and a threat's epsilon stays in the data's units.
 */
import * as tf from '@tensorflow/tfjs';
import { InputError, UsageError } from '../core/errors.js';
import type { Bounds } from '../core/types.js';
import type { Classifier } from './classifier.js';
import type { Preprocessing } from './sources/types.js';

/** A model that can take a channels-last batch of an NCHW input directly (an imported ONNX graph). */
interface ChannelsLastInput {
  logitsChannelsLast(x: tf.Tensor): tf.Tensor2D;
}

function takesChannelsLast(model: Classifier): model is Classifier & ChannelsLastInput {
  return typeof (model as Partial<ChannelsLastInput>).logitsChannelsLast === 'function';
}

/**
 * The layout a model input needs for data of `dataShape` (per example, NHWC): `nhwc` when
 * the shapes are equal, `nchw` when the model takes the same image channels-first, else
 * undefined. What a caller suggests (or applies) when the user declared no layout.
 *
 * @example inferLayout([1, 28, 28], [28, 28, 1]) // 'nchw'
 */
export function inferLayout(modelShape: readonly number[], dataShape: readonly number[]): 'nhwc' | 'nchw' | undefined {
  const same = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);
  if (same(modelShape, dataShape)) return 'nhwc';
  if (modelShape.length === 3 && dataShape.length === 3 && same(modelShape, [dataShape[2]!, dataShape[0]!, dataShape[1]!])) return 'nchw';
  return undefined;
}

/** True when `p` changes nothing. */
export function isIdentityPreprocessing(p: Preprocessing | undefined): boolean {
  return !p || ((p.layout ?? 'nhwc') === 'nhwc' && (p.scale ?? 1) === 1 && !p.mean && !p.std);
}

/**
 * Checks `p` against the model's input shape.
 *
 * @throws InputError `E_PREPROCESS` naming the bad field and what it must be.
 */
export function checkPreprocessing(p: Preprocessing, modelShape: readonly number[], id: string): void {
  const bad = (message: string): InputError =>
    new InputError('E_PREPROCESS', `Preprocessing for model '${id}': ${message}`, { details: { preprocess: p, inputShape: modelShape } });
  if (p.layout === 'nchw' && modelShape.length !== 3)
    throw bad(`layout 'nchw' needs a [c, h, w] model input; it takes [${modelShape.join(', ')}].`);
  const channels = p.layout === 'nchw' ? modelShape[0]! : modelShape[modelShape.length - 1]!;
  if (p.scale !== undefined && !(Number.isFinite(p.scale) && p.scale !== 0))
    throw bad(`scale must be a finite non-zero number; got ${p.scale}.`);
  for (const [name, v] of [
    ['mean', p.mean],
    ['std', p.std],
  ] as const) {
    if (v === undefined) continue;
    if (v.length !== 1 && v.length !== channels) throw bad(`${name} has ${v.length} values; give 1 or one per channel (${channels}).`);
    if (v.some((x) => !Number.isFinite(x))) throw bad(`${name} must hold finite numbers.`);
  }
  if (p.std?.some((s) => s <= 0)) throw bad('std values must be > 0.');
}

/** A classifier behind declared preprocessing; it owns nothing (dispose the inner model yourself). */
export class PreprocessedClassifier implements Classifier {
  readonly id: string;
  readonly inputShape: readonly number[];
  readonly numClasses: number;
  readonly bounds: Bounds;
  readonly differentiable: boolean;
  private readonly nchw: boolean;
  private readonly scale: number;
  private readonly mean: tf.Tensor | undefined;
  private readonly invStd: tf.Tensor | undefined;
  private disposed = false;

  /**
   * @throws InputError `E_PREPROCESS` when `preprocess` does not fit the model's input.
   * @example new PreprocessedClassifier(onnxModel, { layout: 'nchw', mean: [0.1307], std: [0.3081] })
   */
  constructor(
    readonly inner: Classifier,
    readonly preprocess: Preprocessing,
    options: { bounds?: Bounds } = {},
  ) {
    checkPreprocessing(preprocess, inner.inputShape, inner.id);
    this.id = inner.id;
    this.nchw = preprocess.layout === 'nchw';
    const s = inner.inputShape;
    this.inputShape = this.nchw ? [s[1]!, s[2]!, s[0]!] : [...s];
    this.numClasses = inner.numClasses;
    this.bounds = options.bounds ?? { min: 0, max: 1 };
    this.differentiable = inner.differentiable;
    this.scale = preprocess.scale ?? 1;
    // Channels are the data's last axis (NHWC), so per-channel vectors broadcast as they are.
    this.mean = preprocess.mean ? tf.keep(tf.tensor1d([...preprocess.mean])) : undefined;
    this.invStd = preprocess.std ? tf.keep(tf.tensor1d(preprocess.std.map((v) => 1 / v))) : undefined;
  }

  /** The model's input for a data batch `[batch, ...inputShape]`, in the model's layout. */
  transform(x: tf.Tensor): tf.Tensor {
    const y = this.normalise(x);
    return this.nchw ? tf.transpose(y, [0, 3, 1, 2]) : y;
  }

  /** @throws UsageError `E_MODEL_DISPOSED` after `dispose()`. */
  logits(x: tf.Tensor): tf.Tensor2D {
    const y = this.normalise(x);
    if (!this.nchw) return this.inner.logits(y);
    if (takesChannelsLast(this.inner)) return this.inner.logitsChannelsLast(y);
    return this.inner.logits(tf.transpose(y, [0, 3, 1, 2]));
  }

  /** Frees the preprocessing constants (not the inner model). */
  dispose(): void {
    this.disposed = true;
    this.mean?.dispose();
    this.invStd?.dispose();
  }

  private normalise(x: tf.Tensor): tf.Tensor {
    if (this.disposed) throw new UsageError('E_MODEL_DISPOSED', `Model '${this.id}' was disposed; load it again.`);
    let y = this.scale === 1 ? x : tf.mul(x, this.scale);
    if (this.mean) y = tf.sub(y, this.mean);
    if (this.invStd) y = tf.mul(y, this.invStd);
    return y;
  }
}

/**
 * `model` behind `preprocess`, or `model` itself when there is nothing to do.
 *
 * @throws InputError `E_PREPROCESS` when `preprocess` does not fit the model's input.
 */
export function withPreprocessing(model: Classifier, preprocess: Preprocessing | undefined): Classifier & { dispose?(): void } {
  return isIdentityPreprocessing(preprocess) ? model : new PreprocessedClassifier(model, preprocess!);
}

/**
 * The values an imported graph passes between nodes. A tensor value is a TF.js tensor; a
 * rank-4 one may be stored channels-last (`nhwc`): the graph's logical NCHW tensor,
 * transposed to NHWC, because TF.js convolutions and pools only run channels-last on wasm.
 * Layout-neutral ops keep the tag, so a conv stack transposes once at each end, not per op.
 * A host value is a small array known without reading a tensor: constants, and shape chains
 * (Shape → Gather → Concat → Reshape) computed from tensor shapes on the host.
 */
import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../../core/errors.js';
import type { ConstantData } from './proto.js';

export interface TensorValue {
  readonly kind: 'tensor';
  readonly t: tf.Tensor;
  /** `t` holds the logical NCHW tensor transposed to NHWC. */
  readonly nhwc: boolean;
}

export interface HostValue extends ConstantData {
  readonly kind: 'host';
  /** Known at import (an initializer, a Constant or a folded node): its tensor forms are cached. */
  readonly constant: boolean;
}

export type Value = TensorValue | HostValue;

export const TO_NHWC = [0, 2, 3, 1];
export const TO_NCHW = [0, 3, 1, 2];

export function tensorValue(t: tf.Tensor, nhwc = false): TensorValue {
  return { kind: 'tensor', t, nhwc };
}

export function hostValue(data: ConstantData, constant = false): HostValue {
  return { kind: 'host', dtype: data.dtype, shape: data.shape, data: data.data, constant };
}

/** The logical (ONNX) shape of a value. */
export function logicalShape(v: Value): number[] {
  if (v.kind === 'host') return v.shape;
  const s = v.t.shape;
  return v.nhwc ? [s[0]!, s[3]!, s[1]!, s[2]!] : [...s];
}

/**
 * Tensor forms of constants, made once and kept until the model is disposed: the plain
 * tensor, its channels-last form, and derived forms (a conv kernel in HWIO, a folded
 * BatchNormalization scale) keyed by what made them.
 */
export class ConstCache {
  private readonly cache = new Map<HostValue, Map<string, tf.Tensor>>();
  private disposed = false;

  /** The value's tensor form built by `build`, cached when the value is a constant. */
  derive(v: HostValue, key: string, build: () => tf.Tensor): tf.Tensor {
    if (!v.constant) return build();
    let forms = this.cache.get(v);
    if (!forms) {
      forms = new Map();
      this.cache.set(v, forms);
    }
    let t = forms.get(key);
    if (!t) {
      t = tf.keep(tf.tidy(build));
      forms.set(key, t);
    }
    return t;
  }

  /** Number of cached tensors (for tests and `model check`). */
  get size(): number {
    let n = 0;
    for (const forms of this.cache.values()) n += forms.size;
    return n;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const forms of this.cache.values()) for (const t of forms.values()) t.dispose();
    this.cache.clear();
  }
}

/** A host value as a plain tensor (float32 or int32). */
export function hostTensor(v: HostValue, consts: ConstCache): tf.Tensor {
  return consts.derive(v, 'plain', () => tf.tensor(v.data, v.shape, v.dtype === 'float' ? 'float32' : 'int32'));
}

/** A value as its logical tensor: channels-last tensors are transposed back. */
export function plain(v: Value, consts: ConstCache): tf.Tensor {
  if (v.kind === 'host') return hostTensor(v, consts);
  return v.nhwc ? tf.transpose(v.t, TO_NCHW) : v.t;
}

/**
 * A value of logical rank ≤ 4 in channels-last form, for an op on a channels-last tensor:
 * lower ranks broadcast as ONNX says (leading 1s) before the transpose.
 *
 * @throws UsageError `E_ONNX_LAYOUT` for a rank above 4.
 */
export function channelsLast(v: Value, consts: ConstCache): tf.Tensor {
  if (v.kind === 'tensor' && v.nhwc) return v.t;
  const shape = logicalShape(v);
  if (shape.length > 4)
    throw new UsageError(
      'E_ONNX_LAYOUT',
      `Cannot broadcast a rank-${shape.length} value against an image tensor in this graph; run the model as 'onnxruntime:PATH' instead.`,
    );
  const to4 = (t: tf.Tensor): tf.Tensor => {
    const padded = [...Array<number>(4 - shape.length).fill(1), ...shape];
    return tf.transpose(shape.length === 4 ? t : tf.reshape(t, padded), TO_NHWC);
  };
  if (v.kind === 'host') return consts.derive(v, 'nhwc', () => to4(tf.tensor(v.data, v.shape, v.dtype === 'float' ? 'float32' : 'int32')));
  return to4(v.t);
}

/** Normalises a possibly negative axis for `rank`. */
export function axisOf(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/** The axis of the channels-last storage holding logical axis `axis` of a rank-4 tensor. */
export function nhwcAxis(axis: number): number {
  return [0, 3, 1, 2][axis] ?? axis;
}

/** The values of a host value as plain numbers. */
export function numbers(v: HostValue): number[] {
  return Array.from(v.data);
}

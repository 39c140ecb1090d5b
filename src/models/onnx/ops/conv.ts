/**
 * Convolution and pooling, run channels-last (the only layout wasm's kernels take). ONNX
 * kernels `[M, C/groups, kh, kw]` become HWIO once per model. Two rewrites keep every
 * gradient on kernels the wasm backend has: a dilated kernel is spread out with zeros (TF.js
 * has no gradient for dilated conv2d), and a grouped conv becomes one conv with a
 * block-diagonal kernel (wasm has no depthwise backprop), or one conv per group when that
 * kernel would be large.
 */
import * as tf from '@tensorflow/tfjs';
import { channelsLast, logicalShape, plain, tensorValue, type HostValue, type Value } from '../values.js';
import { checkPads, input, MAX_PAD, unsupported, type OpContext, type OpDef } from './context.js';

/** Largest block-diagonal kernel (elements) built for a grouped conv; above it, one conv per group. */
const BLOCK_DIAGONAL_LIMIT = 4_000_000;

type Pad = 'valid' | [[number, number], [number, number], [number, number], [number, number]];

/** Explicit pads (ONNX `pads` or `auto_pad`) for a 2-D window, channels-last. */
function padding(ctx: OpContext, inH: number, inW: number, k: [number, number], s: [number, number], ceil = false): Pad {
  const auto = ctx.attrs.string('auto_pad', 'NOTSET');
  let [t, l, b, r] = [0, 0, 0, 0];
  if (auto === 'SAME_UPPER' || auto === 'SAME_LOWER') {
    const total = (size: number, kk: number, ss: number): number => Math.max((Math.ceil(size / ss) - 1) * ss + kk - size, 0);
    const th = total(inH, k[0], s[0]);
    const tw = total(inW, k[1], s[1]);
    const upper = auto === 'SAME_UPPER';
    t = upper ? Math.floor(th / 2) : Math.ceil(th / 2);
    l = upper ? Math.floor(tw / 2) : Math.ceil(tw / 2);
    [b, r] = [th - t, tw - l];
  } else if (auto === 'NOTSET') {
    const pads = ctx.attrs.ints('pads') ?? [0, 0, 0, 0];
    if (pads.length !== 4) throw unsupported(ctx, `pads of length ${pads.length} (only 2-D windows are supported)`);
    checkPads(ctx, pads);
    [t, l, b, r] = pads as [number, number, number, number];
  } else if (auto !== 'VALID') {
    throw unsupported(ctx, `auto_pad='${auto}'`);
  }
  if (ceil) {
    // ceil_mode: pad the end so the last partial window exists.
    const extra = (size: number, before: number, after: number, kk: number, ss: number): number => {
      const span = size + before + after - kk;
      return span % ss === 0 ? 0 : ss - (span % ss);
    };
    b += extra(inH, t, b, k[0], s[0]);
    r += extra(inW, l, r, k[1], s[1]);
  }
  if (t + l + b + r === 0) return 'valid';
  return [
    [0, 0],
    [t, b],
    [l, r],
    [0, 0],
  ];
}

function pair(ctx: OpContext, name: string, fallback: number): [number, number] {
  const v = ctx.attrs.ints(name) ?? [fallback, fallback];
  if (v.length !== 2) throw unsupported(ctx, `${name} of length ${v.length} (only 2-D windows are supported)`);
  // Windows, strides and dilations size what is allocated (a dilated kernel is spread out), so they are bounded.
  if (v.some((d) => !Number.isInteger(d) || d < 1 || d > (name === 'dilations' ? 64 : MAX_PAD)))
    throw unsupported(ctx, `${name} [${v.join(', ')}]`);
  return [v[0]!, v[1]!];
}

function rank4(ctx: OpContext, v: Value): number[] {
  const shape = logicalShape(v);
  if (shape.length !== 4) throw unsupported(ctx, `a rank-${shape.length} input (only 2-D images, NCHW, are supported)`);
  return shape;
}

/** ONNX kernel [M, C/g, kh, kw] → HWIO [kh', kw', C, M]: dilation spread out, groups block-diagonal. */
function hwioKernel(w: HostValue, groups: number, dil: [number, number]): tf.Tensor4D {
  const [m, cg, kh, kw] = w.shape as [number, number, number, number];
  const c = cg * groups;
  const eh = (kh - 1) * dil[0] + 1;
  const ew = (kw - 1) * dil[1] + 1;
  const out = new Float32Array(eh * ew * c * m);
  const mg = m / groups;
  for (let o = 0; o < m; o++) {
    const g = Math.floor(o / mg);
    for (let i = 0; i < cg; i++)
      for (let y = 0; y < kh; y++)
        for (let x = 0; x < kw; x++) {
          const value = w.data[((o * cg + i) * kh + y) * kw + x]!;
          out[((y * dil[0] * ew + x * dil[1]) * c + (g * cg + i)) * m + o] = value;
        }
  }
  return tf.tensor4d(out, [eh, ew, c, m]);
}

/** Inserts `d - 1` zeros between the rows (axis 0) of `k`: the dilated kernel as a plain one, differentiably. */
function spreadRows(k: tf.Tensor4D, d: number): tf.Tensor4D {
  if (d === 1) return k;
  const [kh, ...rest] = k.shape;
  const zeros = tf.zerosLike(k);
  const stacked = tf.stack([k, ...Array<tf.Tensor>(d - 1).fill(zeros)], 1);
  return tf.slice(tf.reshape(stacked, [kh * d, ...rest]), 0, (kh - 1) * d + 1) as tf.Tensor4D;
}

/** A convolution whose kernel is a tensor (a trainable copy's variable): HWIO and groups per call. */
function tensorKernelConv(
  xs: tf.Tensor4D,
  w: tf.Tensor,
  groups: number,
  dil: [number, number],
  strides: [number, number],
  pad: Pad,
): tf.Tensor4D {
  let k = tf.transpose(w, [2, 3, 1, 0]) as tf.Tensor4D;
  k = tf.transpose(spreadRows(tf.transpose(spreadRows(k, dil[0]), [1, 0, 2, 3]) as tf.Tensor4D, dil[1]), [1, 0, 2, 3]) as tf.Tensor4D;
  if (groups === 1) return tf.conv2d(xs, k, strides, pad);
  const xsParts = tf.split(xs, groups, 3);
  const kParts = tf.split(k, groups, 3);
  return tf.concat(
    xsParts.map((part, g) => tf.conv2d(part as tf.Tensor4D, kParts[g] as tf.Tensor4D, strides, pad)),
    3,
  );
}

function conv(ctx: OpContext): Value[] {
  const x = input(ctx, 0);
  const [, , inH, inW] = rank4(ctx, x);
  const wv = input(ctx, 1);
  const wShape = logicalShape(wv);
  if (wShape.length !== 4) throw unsupported(ctx, `a rank-${wShape.length} kernel (only 2-D convolutions are supported)`);
  const groups = ctx.attrs.int('group', 1);
  const [m, cg, kh, kw] = wShape as [number, number, number, number];
  const strides = pair(ctx, 'strides', 1);
  const dil = pair(ctx, 'dilations', 1);
  const eff: [number, number] = [(kh - 1) * dil[0] + 1, (kw - 1) * dil[1] + 1];
  const pad = padding(ctx, inH!, inW!, eff, strides);
  const xs = channelsLast(x, ctx.consts) as tf.Tensor4D;
  let y: tf.Tensor4D;
  if (wv.kind !== 'host') {
    y = tensorKernelConv(xs, plain(wv, ctx.consts), groups, dil, strides, pad);
  } else if (groups === 1 || cg * groups * m * eff[0] * eff[1] <= BLOCK_DIAGONAL_LIMIT) {
    const kernel = ctx.consts.derive(wv, `hwio:${groups}:${dil.join('x')}`, () => hwioKernel(wv, groups, dil)) as tf.Tensor4D;
    y = tf.conv2d(xs, kernel, strides, pad);
  } else {
    const parts = tf.split(xs, groups, 3);
    const mg = m / groups;
    const outs = parts.map((part, g) => {
      const slice = {
        ...wv,
        shape: [mg, cg, kh, kw],
        data: wv.data.slice(g * mg * cg * kh * kw, (g + 1) * mg * cg * kh * kw),
      } as HostValue;
      const kernel = ctx.consts.derive(wv, `hwio-group:${g}:${dil.join('x')}`, () => hwioKernel(slice, 1, dil)) as tf.Tensor4D;
      return tf.conv2d(part as tf.Tensor4D, kernel, strides, pad);
    });
    y = tf.concat(outs, 3);
  }
  const bias = ctx.inputs[2];
  if (bias) y = tf.add(y, plain(bias, ctx.consts).reshape([m])) as tf.Tensor4D;
  return [tensorValue(y, true)];
}

function pool(kind: 'max' | 'avg'): OpDef {
  return {
    tensor(ctx) {
      const x = input(ctx, 0);
      const [, , inH, inW] = rank4(ctx, x);
      const k = pair(ctx, 'kernel_shape', 1);
      const strides = pair(ctx, 'strides', 1);
      const dil = pair(ctx, 'dilations', 1);
      if (dil[0] !== 1 || dil[1] !== 1) throw unsupported(ctx, 'dilated pooling');
      if (ctx.node.output && ctx.node.output.length > 1 && ctx.node.output[1]) throw unsupported(ctx, 'the Indices output');
      const ceil = ctx.attrs.int('ceil_mode', 0) === 1;
      const xs = channelsLast(x, ctx.consts) as tf.Tensor4D;
      const pad = padding(ctx, inH!, inW!, k, strides, ceil);
      if (kind === 'avg' && pad !== 'valid') {
        // Pad with zeros and pool without padding: TF.js's AvgPoolGrad ignores how a padded
        // forward pass excluded the padding, so its gradient would be wrong.
        const padded = tf.pad(xs, pad);
        const sums = tf.avgPool(padded, k, strides, 'valid');
        if (ctx.attrs.int('count_include_pad', 0) === 1) return [tensorValue(sums, true)];
        // Exclude the padding from each window's count, as ONNX does by default.
        const ones = tf.pad(tf.ones([1, inH!, inW!, 1]), pad);
        return [tensorValue(tf.div(sums, tf.avgPool(ones as tf.Tensor4D, k, strides, 'valid')), true)];
      }
      const op = kind === 'max' ? tf.maxPool : tf.avgPool;
      return [tensorValue(op(xs, k, strides, pad as unknown as 'valid'), true)];
    },
  };
}

function globalPool(kind: 'max' | 'avg'): OpDef {
  return {
    tensor(ctx) {
      const x = input(ctx, 0);
      rank4(ctx, x);
      const xs = channelsLast(x, ctx.consts);
      return [tensorValue(kind === 'avg' ? tf.mean(xs, [1, 2], true) : tf.max(xs, [1, 2], true), true)];
    },
  };
}

export const CONV_OPS: Record<string, OpDef> = {
  Conv: { tensor: conv },
  MaxPool: pool('max'),
  AveragePool: pool('avg'),
  GlobalAveragePool: globalPool('avg'),
  GlobalMaxPool: globalPool('max'),
};

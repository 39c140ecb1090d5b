/**
 * Dense algebra and normalisation: Gemm, MatMul, inference-mode BatchNormalization (folded
 * once per model into a per-channel scale and shift), Softmax and LogSoftmax (both the
 * opset < 13 "flatten to 2-D" and the opset ≥ 13 "one axis" semantics).
 */
import * as tf from '@tensorflow/tfjs';
import { axisOf, logicalShape, plain, tensorValue, type HostValue, type Value } from '../values.js';
import { input, unsupported, type OpContext, type OpDef } from './context.js';

/** A constant operand transformed once (`key` names the transform), or the live tensor transformed per call. */
function operand(ctx: OpContext, v: Value, key: string, transform: (t: tf.Tensor) => tf.Tensor): tf.Tensor {
  if (v.kind === 'host') return ctx.consts.derive(v, key, () => transform(tf.tensor(v.data, v.shape, 'float32')));
  return transform(plain(v, ctx.consts));
}

function gemm(ctx: OpContext): Value[] {
  const alpha = ctx.attrs.float('alpha', 1);
  const beta = ctx.attrs.float('beta', 1);
  const transA = ctx.attrs.int('transA', 0) === 1;
  const transB = ctx.attrs.int('transB', 0) === 1;
  const a = plain(input(ctx, 0), ctx.consts);
  if (a.rank !== 2) throw unsupported(ctx, `a rank-${a.rank} A operand`);
  // B is stored [K, N] with alpha folded in, so the call is one matMul (+ bias).
  const b = operand(ctx, input(ctx, 1), `gemm-b:${transB}:${alpha}`, (t) => tf.mul(transB ? tf.transpose(t) : t, alpha)) as tf.Tensor2D;
  const cv = ctx.inputs[2];
  const c = cv ? operand(ctx, cv, `gemm-c:${beta}`, (t) => tf.mul(t, beta)) : undefined;
  const y = tf.matMul(a as tf.Tensor2D, b, transA, false);
  return [tensorValue(c ? tf.add(y, c) : y)];
}

function matMul(ctx: OpContext): Value[] {
  let a = plain(input(ctx, 0), ctx.consts);
  let b = plain(input(ctx, 1), ctx.consts);
  const [ra, rb] = [a.rank, b.rank];
  if (ra === 1) a = tf.expandDims(a, 0);
  if (rb === 1) b = tf.expandDims(b, 1);
  let y = a.rank === 2 && b.rank === 2 ? tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D) : tf.matMul(a, b);
  if (ra === 1) y = tf.squeeze(y, [y.rank - 2]);
  if (rb === 1) y = tf.squeeze(y, [y.rank - 1]);
  return [tensorValue(y)];
}

/** BatchNormalization in inference mode: y = x · a + b with a = scale / √(var + ε), b = B − mean · a. */
function batchNorm(ctx: OpContext): Value[] {
  if (ctx.attrs.int('training_mode', 0) === 1) throw unsupported(ctx, 'training_mode=1');
  if ((ctx.node.output ?? []).filter((o) => o).length > 1) throw unsupported(ctx, 'the running statistics outputs');
  const x = input(ctx, 0);
  const eps = ctx.attrs.float('epsilon', 1e-5);
  const params = [1, 2, 3, 4].map((i) => input(ctx, i));
  const shape = logicalShape(x);
  const nhwc = x.kind === 'tensor' && x.nhwc;
  const t = x.kind === 'tensor' ? x.t : plain(x, ctx.consts);
  if (params.some((p) => p.kind !== 'host')) {
    // Parameters given as tensors (a trainable copy): fold them per call, inside the gradient.
    const [s, b, m, v] = params.map((p) => plain(p, ctx.consts));
    const c = logicalShape(params[0]!)[0]!;
    const vecShape = nhwc ? [c] : [c, ...Array<number>(Math.max(shape.length - 2, 0)).fill(1)];
    const a = tf.div(s!, tf.sqrt(tf.add(v!, eps)));
    const shift = tf.sub(b!, tf.mul(m!, a));
    return [tensorValue(tf.add(tf.mul(t, tf.reshape(a, vecShape)), tf.reshape(shift, vecShape)), nhwc)];
  }
  const [scale, bias, mean, variance] = params as HostValue[];
  const c = scale!.data.length;
  const a = new Float32Array(c);
  const b = new Float32Array(c);
  for (let i = 0; i < c; i++) {
    a[i] = scale!.data[i]! / Math.sqrt(variance!.data[i]! + eps);
    b[i] = bias!.data[i]! - mean!.data[i]! * a[i]!;
  }
  // Channels are axis 1 of the logical tensor: last in channels-last storage, else [C, 1, ...].
  const vecShape = nhwc ? [c] : [c, ...Array<number>(Math.max(shape.length - 2, 0)).fill(1)];
  // Keyed by node: two BatchNormalizations may share one of their four constants.
  const key = `bn:${ctx.name}:${nhwc}:${vecShape.length}`;
  const va = ctx.consts.derive(scale!, `${key}:a`, () => tf.tensor(a, vecShape));
  const vb = ctx.consts.derive(scale!, `${key}:b`, () => tf.tensor(b, vecShape));
  return [tensorValue(tf.add(tf.mul(t, va), vb), nhwc)];
}

function softmax(log: boolean): OpDef {
  return {
    tensor(ctx) {
      const x = plain(input(ctx, 0), ctx.consts);
      const rank = x.rank;
      const fn = (t: tf.Tensor): tf.Tensor => (log ? tf.logSoftmax(t) : tf.softmax(t));
      if (ctx.opset < 13) {
        const axis = axisOf(ctx.attrs.int('axis', 1), rank);
        if (axis === rank - 1) return [tensorValue(fn(x))];
        // Before opset 13 the input is flattened to 2-D at `axis` and normalised over the second part.
        const outer = x.shape.slice(0, axis).reduce((p, d) => p * d, 1);
        return [tensorValue(tf.reshape(fn(tf.reshape(x, [outer, -1])), x.shape))];
      }
      const axis = axisOf(ctx.attrs.int('axis', -1), rank);
      if (axis === rank - 1) return [tensorValue(fn(x))];
      const perm = [...Array(rank).keys()];
      [perm[axis], perm[rank - 1]] = [rank - 1, axis];
      return [tensorValue(tf.transpose(fn(tf.transpose(x, perm)), perm))];
    },
  };
}

export const LINEAR_OPS: Record<string, OpDef> = {
  Gemm: { tensor: gemm },
  MatMul: { tensor: matMul },
  BatchNormalization: { tensor: batchNorm },
  Softmax: softmax(false),
  LogSoftmax: softmax(true),
};

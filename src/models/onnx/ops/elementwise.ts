/**
 * Element-wise ops. They keep a channels-last tensor channels-last: the other operand of a
 * binary op is brought to the same layout (constants once, in the cache), so bias adds and
 * activations between convolutions cost no transposes.
 */
import * as tf from '@tensorflow/tfjs';
import { DTYPE } from '../proto.js';
import { channelsLast, hostValue, plain, tensorValue, type HostValue, type Value } from '../values.js';
import { input, isTensor, scalarFrom, unsupported, type OpContext, type OpDef } from './context.js';

type Binary = (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;

function binary(fn: Binary, host: (a: number, b: number, int: boolean) => number): OpDef {
  return {
    tensor(ctx) {
      const a = input(ctx, 0);
      const b = input(ctx, 1);
      const nhwc = (isTensor(a) && a.nhwc) || (isTensor(b) && b.nhwc);
      if (nhwc) return [tensorValue(fn(channelsLast(a, ctx.consts), channelsLast(b, ctx.consts)), true)];
      const [x, y] = [plain(a, ctx.consts), plain(b, ctx.consts)];
      // ONNX integer ops stay integer; TF.js would promote int32 / int32 to float.
      return [tensorValue(fn(x.dtype === y.dtype ? x : tf.cast(x, 'float32'), x.dtype === y.dtype ? y : tf.cast(y, 'float32')))];
    },
    host(_ctx, [a, b]) {
      if (!a || !b) return undefined;
      // Shape arithmetic: scalars and equal-length vectors only; anything else runs as tensors.
      const n = Math.max(a.data.length, b.data.length);
      if (a.data.length !== n && a.data.length !== 1) return undefined;
      if (b.data.length !== n && b.data.length !== 1) return undefined;
      const int = a.dtype === 'int' && b.dtype === 'int';
      const out = Array.from({ length: n }, (_, i) =>
        host(a.data[a.data.length === 1 ? 0 : i]!, b.data[b.data.length === 1 ? 0 : i]!, int),
      );
      const shape = a.data.length >= b.data.length ? a.shape : b.shape;
      return [hostValue({ dtype: int ? 'int' : 'float', shape, data: int ? out : Float32Array.from(out) })];
    },
  };
}

function unary(fn: (x: tf.Tensor, ctx: OpContext) => tf.Tensor): OpDef {
  return {
    tensor(ctx) {
      const v = input(ctx, 0);
      if (v.kind === 'tensor') return [tensorValue(fn(v.t, ctx), v.nhwc)];
      return [tensorValue(fn(plain(v, ctx.consts), ctx))];
    },
  };
}

function passThrough(ctx: OpContext): Value[] {
  return [input(ctx, 0)];
}

const SQRT1_2 = Math.SQRT1_2;
const GELU_TANH = Math.sqrt(2 / Math.PI);

function gelu(x: tf.Tensor, ctx: OpContext): tf.Tensor {
  const approximate = ctx.attrs.string('approximate', 'none');
  if (approximate === 'tanh') {
    const inner = tf.mul(GELU_TANH, tf.add(x, tf.mul(0.044715, tf.pow(x, 3))));
    return tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(inner)));
  }
  if (approximate !== 'none') throw unsupported(ctx, `approximate='${approximate}'`);
  return tf.mul(tf.mul(0.5, x), tf.add(1, tf.erf(tf.mul(x, SQRT1_2))));
}

function clip(x: tf.Tensor, ctx: OpContext): tf.Tensor {
  const old = ctx.opset < 11;
  const min = old ? ctx.attrs.float('min', -Infinity) : scalarFrom(ctx, 1, 'min', -Infinity);
  const max = old ? ctx.attrs.float('max', Infinity) : scalarFrom(ctx, 2, 'max', Infinity);
  // clipByValue's gradient passes through at the bounds, as ONNX runtimes' Clip does.
  return tf.clipByValue(x, min, max);
}

function castHost(v: HostValue, to: number): HostValue {
  if (to === DTYPE.FLOAT || to === DTYPE.DOUBLE)
    return hostValue({ dtype: 'float', shape: v.shape, data: Float32Array.from(v.data) }, v.constant);
  const data = Array.from(v.data, (x) => (to === DTYPE.BOOL ? Number(x !== 0) : Math.trunc(x)));
  return hostValue({ dtype: 'int', shape: v.shape, data }, v.constant);
}

const cast: OpDef = {
  tensor(ctx) {
    const v = input(ctx, 0);
    const to = ctx.attrs.int('to', DTYPE.FLOAT);
    const dtype = to === DTYPE.FLOAT || to === DTYPE.DOUBLE ? 'float32' : to === DTYPE.BOOL ? 'bool' : 'int32';
    if (v.kind === 'tensor') return [tensorValue(tf.cast(v.t, dtype), v.nhwc)];
    return [tensorValue(tf.cast(plain(v, ctx.consts), dtype))];
  },
  host(ctx, [v]) {
    return v ? [castHost(v, ctx.attrs.int('to', DTYPE.FLOAT))] : undefined;
  },
};

export const ELEMENTWISE_OPS: Record<string, OpDef> = {
  Add: binary(tf.add, (a, b) => a + b),
  Sub: binary(tf.sub, (a, b) => a - b),
  Mul: binary(tf.mul, (a, b) => a * b),
  Div: binary(tf.div, (a, b, int) => (int ? Math.trunc(a / b) : a / b)),
  Relu: unary((x) => tf.relu(x)),
  LeakyRelu: unary((x, ctx) => tf.leakyRelu(x, ctx.attrs.float('alpha', 0.01))),
  Sigmoid: unary((x) => tf.sigmoid(x)),
  Tanh: unary((x) => tf.tanh(x)),
  Erf: unary((x) => tf.erf(x)),
  Gelu: unary(gelu),
  Exp: unary((x) => tf.exp(x)),
  Log: unary((x) => tf.log(x)),
  Sqrt: unary((x) => tf.sqrt(x)),
  Neg: unary((x) => tf.neg(x)),
  Abs: unary((x) => tf.abs(x)),
  Clip: unary(clip),
  Cast: cast,
  Identity: { tensor: passThrough, host: (_ctx, [v]) => (v ? [v] : undefined) },
  Dropout: { tensor: passThrough },
};

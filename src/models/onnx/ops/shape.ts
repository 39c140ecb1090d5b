/**
 * Shape ops. Each runs on tensors and, where reshape chains need it, on host values:
 * `Shape` reads a tensor's shape without touching its data, and Gather, Slice, Concat,
 * Unsqueeze and Squeeze on host values compute the target of the `Reshape` that follows, so
 * a PyTorch `x.view(x.size(0), -1)` costs no tensor op.
 */
import * as tf from '@tensorflow/tfjs';
import { readTensor } from '../proto.js';
import { axisOf, hostValue, logicalShape, nhwcAxis, plain, tensorValue, TO_NHWC, type HostValue, type Value } from '../values.js';
import { checkPads, hostInput, input, intsFrom, unsupported, type OpContext, type OpDef } from './context.js';

function prod(xs: readonly number[]): number {
  return xs.reduce((p, d) => p * d, 1);
}

function ints(shape: number[], data: number[]): HostValue {
  return hostValue({ dtype: 'int', shape, data });
}

function reshapeTarget(ctx: OpContext, inShape: number[], target: number[]): number[] {
  const allowZero = ctx.attrs.int('allowzero', 0) === 1;
  return target.map((d, i) => (d === 0 && !allowZero ? (inShape[i] ?? 0) : d));
}

const reshape: OpDef = {
  tensor(ctx) {
    const x = input(ctx, 0);
    const target = ctx.opset < 5 ? (ctx.attrs.ints('shape') ?? []) : Array.from(hostInput(ctx, 1, 'target shape').data);
    return [tensorValue(tf.reshape(plain(x, ctx.consts), reshapeTarget(ctx, logicalShape(x), target)))];
  },
  host(ctx, [x, s]) {
    if (!x || !s) return undefined;
    const shape = reshapeTarget(ctx, x.shape, Array.from(s.data));
    const known = prod(shape.filter((d) => d !== -1));
    const full = shape.map((d) => (d === -1 ? x.data.length / known : d));
    return [hostValue({ dtype: x.dtype, shape: full, data: x.data }, x.constant)];
  },
};

const flatten: OpDef = {
  tensor(ctx) {
    const x = input(ctx, 0);
    const shape = logicalShape(x);
    const axis = axisOf(ctx.attrs.int('axis', 1), shape.length);
    return [tensorValue(tf.reshape(plain(x, ctx.consts), [prod(shape.slice(0, axis)), prod(shape.slice(axis))]))];
  },
};

const transpose: OpDef = {
  tensor(ctx) {
    const x = input(ctx, 0);
    const rank = logicalShape(x).length;
    const perm = ctx.attrs.ints('perm') ?? [...Array(rank).keys()].reverse();
    const same = (p: number[]): boolean => perm.length === 4 && perm.every((d, i) => d === p[i]);
    // NHWC → NCHW of a plain tensor is exactly the channels-last form: relabel, do not move data.
    if (x.kind === 'tensor' && !x.nhwc && same([0, 3, 1, 2])) return [tensorValue(x.t, true)];
    if (x.kind === 'tensor' && x.nhwc && same(TO_NHWC)) return [tensorValue(x.t)];
    return [tensorValue(tf.transpose(plain(x, ctx.consts), perm))];
  },
};

const concat: OpDef = {
  tensor(ctx) {
    const values = ctx.inputs.filter((v): v is Value => v !== undefined);
    const rank = logicalShape(values[0]!).length;
    const axis = axisOf(ctx.attrs.int('axis', 0), rank);
    if (rank === 4 && values.every((v) => v.kind === 'tensor' && v.nhwc)) {
      return [
        tensorValue(
          tf.concat(
            values.map((v) => (v as { t: tf.Tensor }).t),
            nhwcAxis(axis),
          ),
          true,
        ),
      ];
    }
    return [
      tensorValue(
        tf.concat(
          values.map((v) => plain(v, ctx.consts)),
          axis,
        ),
      ),
    ];
  },
  host(ctx, inputs) {
    const values = inputs.filter((v): v is HostValue => v !== undefined);
    if (values.some((v) => v.shape.length > 1 || v.dtype !== values[0]!.dtype)) return undefined;
    const data = values.flatMap((v) => Array.from(v.data));
    const float = values[0]!.dtype === 'float';
    return [hostValue({ dtype: values[0]!.dtype, shape: [data.length], data: float ? Float32Array.from(data) : data })];
  },
};

function axesOf(ctx: OpContext, rank: number): number[] | undefined {
  const axes = ctx.opset < 13 ? ctx.attrs.ints('axes') : intsFrom(ctx, 1, 'axes');
  return axes?.map((a) => axisOf(a, rank));
}

const squeeze: OpDef = {
  tensor(ctx) {
    const x = input(ctx, 0);
    const shape = logicalShape(x);
    return [tensorValue(tf.squeeze(plain(x, ctx.consts), axesOf(ctx, shape.length)))];
  },
  host(ctx, [x]) {
    if (!x) return undefined;
    const axes = axesOf(ctx, x.shape.length) ?? x.shape.flatMap((d, i) => (d === 1 ? [i] : []));
    return [hostValue({ ...x, shape: x.shape.filter((_, i) => !axes.includes(i)) }, x.constant)];
  },
};

function unsqueezed(ctx: OpContext, shape: number[]): number[] {
  const rank = shape.length + (axesOf(ctx, 0)?.length ?? 0);
  const axes = (axesOf(ctx, rank) ?? []).sort((a, b) => a - b);
  const out = [...shape];
  for (const a of axes) out.splice(a, 0, 1);
  return out;
}

const unsqueeze: OpDef = {
  tensor(ctx) {
    const x = input(ctx, 0);
    return [tensorValue(tf.reshape(plain(x, ctx.consts), unsqueezed(ctx, logicalShape(x))))];
  },
  host(ctx, [x]) {
    return x ? [hostValue({ ...x, shape: unsqueezed(ctx, x.shape) }, x.constant)] : undefined;
  },
};

const shapeOp: OpDef = {
  tensor(ctx) {
    const shape = logicalShape(input(ctx, 0));
    const start = axisOf(ctx.attrs.int('start', 0), shape.length);
    const end = ctx.attrs.has('end') ? axisOf(ctx.attrs.int('end', shape.length), shape.length) : shape.length;
    const dims = shape.slice(start, end);
    return [ints([dims.length], dims)];
  },
};

function gatherHost(x: HostValue, idx: HostValue, axis: number): HostValue | undefined {
  if (x.shape.length !== 1 || axis !== 0) return undefined;
  const n = x.data.length;
  const data = Array.from(idx.data, (i) => x.data[i < 0 ? i + n : i]!);
  return hostValue(
    { dtype: x.dtype, shape: idx.shape, data: x.dtype === 'float' ? Float32Array.from(data) : data },
    x.constant && idx.constant,
  );
}

const gather: OpDef = {
  tensor(ctx) {
    const x = input(ctx, 0);
    const shape = logicalShape(x);
    const axis = axisOf(ctx.attrs.int('axis', 0), shape.length);
    const idx = input(ctx, 1);
    const indices =
      idx.kind === 'host'
        ? tf.tensor(
            Array.from(idx.data, (i) => (i < 0 ? i + shape[axis]! : i)),
            idx.shape,
            'int32',
          )
        : tf.cast(plain(idx, ctx.consts), 'int32');
    return [tensorValue(tf.gather(plain(x, ctx.consts), indices, axis))];
  },
  host(ctx, [x, idx]) {
    if (!x || !idx) return undefined;
    const out = gatherHost(x, idx, axisOf(ctx.attrs.int('axis', 0), x.shape.length));
    return out ? [out] : undefined;
  },
};

interface SliceSpec {
  begin: number[];
  size: number[];
  steps: number[];
}

function sliceSpec(ctx: OpContext, shape: number[]): SliceSpec {
  const old = ctx.opset < 10;
  const starts = (old ? ctx.attrs.ints('starts') : intsFrom(ctx, 1, 'starts')) ?? [];
  const ends = (old ? ctx.attrs.ints('ends') : intsFrom(ctx, 2, 'ends')) ?? [];
  const axes = (old ? ctx.attrs.ints('axes') : intsFrom(ctx, 3, 'axes')) ?? starts.map((_, i) => i);
  const stepsIn = old ? undefined : intsFrom(ctx, 4, 'steps');
  const begin = shape.map(() => 0);
  const size = [...shape];
  const steps = shape.map(() => 1);
  axes.forEach((a, i) => {
    const axis = axisOf(a, shape.length);
    const dim = shape[axis]!;
    const step = stepsIn?.[i] ?? 1;
    if (step <= 0) throw unsupported(ctx, `a slice step of ${step}`);
    const clamp = (v: number): number => Math.min(Math.max(v < 0 ? v + dim : v, 0), dim);
    const s = clamp(starts[i]!);
    const e = clamp(ends[i]!);
    begin[axis] = s;
    size[axis] = Math.max(0, Math.ceil((e - s) / step));
    steps[axis] = step;
  });
  return { begin, size, steps };
}

const slice: OpDef = {
  tensor(ctx) {
    const x = input(ctx, 0);
    const { begin, size, steps } = sliceSpec(ctx, logicalShape(x));
    const t = plain(x, ctx.consts);
    if (steps.every((s) => s === 1)) return [tensorValue(tf.slice(t, begin, size))];
    const end = begin.map((b, i) => b + size[i]! * steps[i]!);
    return [tensorValue(tf.stridedSlice(t, begin, end, steps))];
  },
  host(ctx, [x]) {
    if (!x || x.shape.length !== 1) return undefined;
    const { begin, size, steps } = sliceSpec(ctx, x.shape);
    const data = Array.from({ length: size[0]! }, (_, i) => x.data[begin[0]! + i * steps[0]!]!);
    return [hostValue({ dtype: x.dtype, shape: [data.length], data: x.dtype === 'float' ? Float32Array.from(data) : data }, x.constant)];
  },
};

const pad: OpDef = {
  tensor(ctx) {
    const x = input(ctx, 0);
    const rank = logicalShape(x).length;
    const pads = (ctx.opset < 11 ? ctx.attrs.ints('pads') : intsFrom(ctx, 1, 'pads')) ?? [];
    if (pads.length !== 2 * rank) throw unsupported(ctx, `pads of length ${pads.length} for a rank-${rank} input`);
    if (ctx.opset >= 18 && ctx.inputs[3]) throw unsupported(ctx, 'the axes input');
    checkPads(ctx, pads);
    const value = ctx.opset < 11 ? ctx.attrs.float('value', 0) : ctx.inputs[2] ? (hostInput(ctx, 2, 'constant_value').data[0] ?? 0) : 0;
    const mode = ctx.attrs.string('mode', 'constant');
    let pairs = Array.from({ length: rank }, (_, i) => [pads[i]!, pads[i + rank]!] as [number, number]);
    const nhwc = x.kind === 'tensor' && x.nhwc;
    if (nhwc) pairs = TO_NHWC.map((a) => pairs[a]!);
    const t = nhwc ? (x as { t: tf.Tensor }).t : plain(x, ctx.consts);
    if (mode === 'constant') return [tensorValue(tf.pad(t, pairs, value), nhwc)];
    if (mode === 'reflect') return [tensorValue(tf.mirrorPad(t, pairs, 'reflect'), nhwc)];
    throw unsupported(ctx, `mode='${mode}'`);
  },
};

/** Constant: the value attribute (a tensor) or one of the scalar and list forms. */
function constantOf(ctx: OpContext, path: string): HostValue {
  const t = ctx.attrs.tensor('value');
  if (t) return hostValue(readTensor(t, path), true);
  const f = ctx.attrs.has('value_float') ? [ctx.attrs.float('value_float', 0)] : ctx.attrs.floats('value_floats');
  if (f) return hostValue({ dtype: 'float', shape: ctx.attrs.has('value_float') ? [] : [f.length], data: Float32Array.from(f) }, true);
  const i = ctx.attrs.has('value_int') ? [ctx.attrs.int('value_int', 0)] : ctx.attrs.ints('value_ints');
  if (i) return hostValue({ dtype: 'int', shape: ctx.attrs.has('value_int') ? [] : [i.length], data: i }, true);
  throw unsupported(ctx, 'a constant of a kind other than a tensor, float(s) or int(s)');
}

const constant: OpDef = {
  tensor: (ctx) => [constantOf(ctx, ctx.name)],
  host: (ctx) => [constantOf(ctx, ctx.name)],
};

export const SHAPE_OPS: Record<string, OpDef> = {
  Reshape: reshape,
  Flatten: flatten,
  Transpose: transpose,
  Concat: concat,
  Squeeze: squeeze,
  Unsqueeze: unsqueeze,
  Shape: shapeOp,
  Gather: gather,
  Slice: slice,
  Pad: pad,
  Constant: constant,
};

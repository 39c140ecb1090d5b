/**
 * Tiny ONNX graphs built in TypeScript with onnx-proto, and onnxruntime as the reference
 * they are checked against. Shared by the ONNX tests; not a test file.
 */
import assert from 'node:assert/strict';
import onnxProto from 'onnx-proto';
import * as tf from '@tensorflow/tfjs';
import { createRng } from '../src/core/rng.js';
import { OnnxGraph } from '../src/models/onnx/graph.js';
import { decodeModel } from '../src/models/onnx/proto.js';

const { onnx } = onnxProto;

export type Attr = number | number[] | string | { floats: number[] } | { float: number } | { tensor: Init };

export interface Node {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, Attr>;
  name?: string;
  domain?: string;
}

export interface Init {
  name: string;
  dims: number[];
  values: number[];
  /** Default float. */
  int64?: boolean;
}

export interface GraphSpec {
  nodes: Node[];
  /** Input shape with the batch first; `-1` for a dynamic batch. */
  input: number[];
  inits?: Init[];
  opset?: number;
  output?: string;
}

function attribute(name: string, v: Attr): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  if (typeof v === 'number') return { name, type: T.INT, i: v };
  if ('floats' in v) return { name, type: T.FLOATS, floats: v.floats };
  if ('float' in v) return { name, type: T.FLOAT, f: v.float };
  return { name, type: T.TENSOR, t: tensor(v.tensor) };
}

export function tensor(init: Init): onnxProto.onnx.ITensorProto {
  return init.int64
    ? { name: init.name, dims: init.dims, dataType: 7, int64Data: init.values }
    : { name: init.name, dims: init.dims, dataType: 1, floatData: init.values };
}

/** Serialized ONNX model bytes for `spec`. */
export function buildModel(spec: GraphSpec): Uint8Array {
  const dims = spec.input.map((d, i) => (i === 0 && d < 0 ? { dimParam: 'N' } : { dimValue: d }));
  const output = spec.output ?? spec.nodes[spec.nodes.length - 1]!.outputs[0]!;
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'rampart-test',
    opsetImport: [{ domain: '', version: spec.opset ?? 13 }],
    graph: {
      name: 'test',
      node: spec.nodes.map((n, i) => ({
        name: n.name ?? `${n.op}_${i}`,
        opType: n.op,
        domain: n.domain ?? '',
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attrs ?? {}).map(([k, v]) => attribute(k, v)),
      })),
      input: [{ name: 'x', type: { tensorType: { elemType: 1, shape: { dim: dims } } } }],
      output: [{ name: output, type: { tensorType: { elemType: 1 } } }],
      initializer: (spec.inits ?? []).map(tensor),
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** Seeded values in [lo, hi). */
export function randomValues(n: number, seed: number, lo = -1, hi = 1): number[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => lo + (hi - lo) * rng.next());
}

/** A float initializer of `dims` with seeded values. */
export function init(name: string, dims: number[], seed: number, lo = -1, hi = 1): Init {
  return {
    name,
    dims,
    values: randomValues(
      dims.reduce((p, d) => p * d, 1),
      seed,
      lo,
      hi,
    ),
  };
}

/** An int64 initializer. */
export function ints(name: string, values: number[]): Init {
  return { name, dims: [values.length], values, int64: true };
}

/** The output of `bytes` on `x` through onnxruntime. */
export async function runOrt(bytes: Uint8Array, x: Float32Array, shape: number[]): Promise<{ data: Float32Array; dims: number[] }> {
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  try {
    const result = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', x, shape) });
    const out = result[session.outputNames[0]!]!;
    return { data: Float32Array.from(out.data as Float32Array), dims: [...out.dims] };
  } finally {
    await session.release();
  }
}

/** Largest absolute difference of two arrays (Infinity when their lengths differ). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

/** Reads a tensor's values (the test owns and disposes it). */
export async function values(t: tf.Tensor): Promise<Float32Array> {
  const v = Float32Array.from((await t.data()) as Float32Array);
  t.dispose();
  return v;
}

/** One op test: a graph, its input range, and whether to check gradients too. */
export interface OpCase {
  name: string;
  spec: GraphSpec;
  /** Input value range (default [-1, 1)). */
  range?: [number, number];
  /** Also check the input gradient against a finite difference. */
  grad?: boolean;
}

/** Builds `spec` and imports it as a graph (no classifier checks: any output shape). */
export function importGraph(spec: GraphSpec): OnnxGraph {
  return new OnnxGraph(decodeModel(buildModel(spec), 'test.onnx'), 'test.onnx');
}

/** Runs `c` through the importer and onnxruntime on seeded inputs: outputs within 1e-4, gradients by finite difference. */
export async function checkCase(c: OpCase): Promise<void> {
  const shape = [2, ...c.spec.input.slice(1)];
  const data = Float32Array.from(
    randomValues(
      shape.reduce((p, d) => p * d, 1),
      11,
      ...(c.range ?? [-1, 1]),
    ),
  );
  const expected = await runOrt(buildModel(c.spec), data, shape);
  const graph = importGraph(c.spec);
  try {
    const out = tf.tidy(() => graph.run(tf.tensor(data, shape)));
    assert.deepEqual(out.shape, expected.dims);
    const diff = maxAbsDiff(await values(out), expected.data);
    assert.ok(diff <= 1e-4, `max abs diff ${diff}`);
    if (c.grad) checkGradient(graph, data, shape);
  } finally {
    graph.dispose();
  }
}

/** The directional derivative of sum(y · r) along v, by the tape and by a central difference. */
function checkGradient(graph: OnnxGraph, data: Float32Array, shape: number[]): void {
  const [analytic, numeric] = tf.tidy(() => {
    const x = tf.tensor(data, shape);
    const y0 = graph.run(x);
    const r = tf.tensor(randomValues(y0.size, 5), y0.shape);
    const v = tf.tensor(randomValues(x.size, 6), shape);
    const f = (t: tf.Tensor): tf.Scalar => tf.sum(tf.mul(graph.run(t), r));
    const g = tf.grad(f)(x);
    const h = 1e-3;
    const fd = tf.div(tf.sub(f(tf.add(x, tf.mul(v, h))), f(tf.sub(x, tf.mul(v, h)))), 2 * h);
    return [tf.sum(tf.mul(g, v)).dataSync()[0]!, fd.dataSync()[0]!];
  });
  assert.ok(Math.abs(analytic - numeric) <= 2e-2 * Math.max(1, Math.abs(numeric)), `gradient ${analytic} vs finite difference ${numeric}`);
}

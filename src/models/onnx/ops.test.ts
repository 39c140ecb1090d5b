/**
 * Every op against onnxruntime on tiny graphs built here with onnx-proto: the importer's
 * output must match within 1e-4, and gradients through the graph must match a finite
 * difference of its own forward pass.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { engine } from '../../../test/fixtures.js';
import { buildModel, init, ints, maxAbsDiff, randomValues, runOrt, values, type GraphSpec, type Node } from '../../../test/onnx-builder.js';
import { OnnxGraph } from './graph.js';
import { decodeModel } from './proto.js';

before(engine);

const IMG = [2, 4, 7, 6];

interface Case {
  name: string;
  spec: GraphSpec;
  /** Input value range (default [-1, 1)). */
  range?: [number, number];
  /** Also check the input gradient against a finite difference. */
  grad?: boolean;
}

const conv = (attrs: Node['attrs'], w = 'w', b?: string): Node => ({
  op: 'Conv',
  inputs: ['x', w, ...(b ? [b] : [])],
  outputs: ['y'],
  attrs,
});
const unary = (op: string, attrs?: Node['attrs']): GraphSpec => ({
  input: [-1, 3, 5],
  nodes: [{ op, inputs: ['x'], outputs: ['y'], ...(attrs ? { attrs } : {}) }],
});
const binary = (op: string, dims: number[]): GraphSpec => ({
  input: [-1, 4, 3, 3],
  inits: [init('w', [6, 4, 1, 1], 1), init('c', dims, 2, 0.5, 1.5)],
  nodes: [
    { op: 'Conv', inputs: ['x', 'w'], outputs: ['h'] },
    { op, inputs: ['h', 'c'], outputs: ['y'] },
  ],
});

const CASES: Case[] = [
  {
    name: 'Conv pads+strides+bias',
    grad: true,
    spec: {
      input: IMG,
      inits: [init('w', [5, 4, 3, 2], 1), init('b', [5], 2)],
      nodes: [conv({ pads: [1, 0, 2, 1], strides: [2, 1] }, 'w', 'b')],
    },
  },
  {
    name: 'Conv groups+dilations',
    grad: true,
    spec: { input: IMG, inits: [init('w', [6, 2, 2, 2], 3)], nodes: [conv({ group: 2, dilations: [2, 2], pads: [1, 1, 1, 1] })] },
  },
  {
    name: 'Conv depthwise',
    grad: true,
    spec: { input: IMG, inits: [init('w', [8, 1, 3, 3], 4)], nodes: [conv({ group: 4, pads: [1, 1, 1, 1] })] },
  },
  {
    name: 'Conv SAME_UPPER stride 2',
    spec: { input: IMG, inits: [init('w', [3, 4, 3, 3], 5)], nodes: [conv({ auto_pad: 'SAME_UPPER', strides: [2, 2] })] },
  },
  { name: 'Conv SAME_LOWER', spec: { input: IMG, inits: [init('w', [3, 4, 2, 2], 6)], nodes: [conv({ auto_pad: 'SAME_LOWER' })] } },
  { name: 'Conv VALID', spec: { input: IMG, inits: [init('w', [3, 4, 3, 3], 6)], nodes: [conv({ auto_pad: 'VALID' })] } },
  {
    name: 'MaxPool pads',
    grad: true,
    spec: {
      input: IMG,
      nodes: [{ op: 'MaxPool', inputs: ['x'], outputs: ['y'], attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] } }],
    },
  },
  {
    name: 'MaxPool ceil_mode',
    spec: {
      input: IMG,
      nodes: [{ op: 'MaxPool', inputs: ['x'], outputs: ['y'], attrs: { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1 } }],
    },
  },
  {
    name: 'AveragePool pads',
    grad: true,
    spec: {
      input: IMG,
      nodes: [{ op: 'AveragePool', inputs: ['x'], outputs: ['y'], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } }],
    },
  },
  {
    name: 'AveragePool count_include_pad',
    spec: {
      input: IMG,
      nodes: [
        {
          op: 'AveragePool',
          inputs: ['x'],
          outputs: ['y'],
          attrs: { kernel_shape: [3, 2], strides: [2, 2], pads: [1, 1, 1, 0], count_include_pad: 1 },
        },
      ],
    },
  },
  { name: 'GlobalAveragePool', spec: { input: IMG, nodes: [{ op: 'GlobalAveragePool', inputs: ['x'], outputs: ['y'] }] } },
  { name: 'GlobalMaxPool', spec: { input: IMG, nodes: [{ op: 'GlobalMaxPool', inputs: ['x'], outputs: ['y'] }] } },
  {
    name: 'BatchNormalization 4-D',
    grad: true,
    spec: {
      input: IMG,
      inits: [init('s', [4], 1), init('b', [4], 2), init('m', [4], 3), init('v', [4], 4, 0.5, 2)],
      nodes: [{ op: 'BatchNormalization', inputs: ['x', 's', 'b', 'm', 'v'], outputs: ['y'], attrs: { epsilon: { float: 1e-3 } } }],
    },
  },
  {
    name: 'BatchNormalization after Conv (channels-last)',
    spec: {
      input: IMG,
      inits: [init('w', [3, 4, 1, 1], 9), init('s', [3], 1), init('b', [3], 2), init('m', [3], 3), init('v', [3], 4, 0.5, 2)],
      nodes: [conv({}), { op: 'BatchNormalization', inputs: ['y', 's', 'b', 'm', 'v'], outputs: ['z'] }],
    },
  },
  {
    name: 'BatchNormalization 2-D',
    spec: {
      input: [-1, 3],
      inits: [init('s', [3], 1), init('b', [3], 2), init('m', [3], 3), init('v', [3], 4, 0.5, 2)],
      nodes: [{ op: 'BatchNormalization', inputs: ['x', 's', 'b', 'm', 'v'], outputs: ['y'] }],
    },
  },
  {
    name: 'Gemm alpha beta transB',
    grad: true,
    spec: {
      input: [-1, 5],
      inits: [init('w', [3, 5], 1), init('c', [3], 2)],
      nodes: [{ op: 'Gemm', inputs: ['x', 'w', 'c'], outputs: ['y'], attrs: { transB: 1, alpha: { float: 0.5 }, beta: { float: 2 } } }],
    },
  },
  {
    name: 'Gemm no C',
    spec: { input: [-1, 5], inits: [init('w', [5, 3], 1)], nodes: [{ op: 'Gemm', inputs: ['x', 'w'], outputs: ['y'] }] },
  },
  {
    name: 'MatMul 2-D',
    spec: { input: [-1, 5], inits: [init('w', [5, 3], 1)], nodes: [{ op: 'MatMul', inputs: ['x', 'w'], outputs: ['y'] }] },
  },
  {
    name: 'MatMul 3-D by 2-D',
    spec: { input: [-1, 4, 5], inits: [init('w', [5, 3], 1)], nodes: [{ op: 'MatMul', inputs: ['x', 'w'], outputs: ['y'] }] },
  },
  { name: 'Add per-channel after Conv', grad: true, spec: binary('Add', [6, 1, 1]) },
  { name: 'Sub row vector after Conv', spec: binary('Sub', [3]) },
  { name: 'Mul scalar after Conv', spec: binary('Mul', [1]) },
  { name: 'Div 4-D after Conv', spec: binary('Div', [1, 6, 3, 3]) },
  { name: 'Add plain', spec: { input: [-1, 3], inits: [init('c', [3], 1)], nodes: [{ op: 'Add', inputs: ['x', 'c'], outputs: ['y'] }] } },
  { name: 'Relu', spec: unary('Relu') },
  { name: 'LeakyRelu', grad: true, spec: unary('LeakyRelu', { alpha: { float: 0.2 } }) },
  { name: 'Sigmoid', spec: unary('Sigmoid') },
  { name: 'Tanh', spec: unary('Tanh') },
  { name: 'Erf', grad: true, spec: unary('Erf') },
  { name: 'Exp', spec: unary('Exp') },
  { name: 'Neg', spec: unary('Neg') },
  { name: 'Abs', spec: unary('Abs') },
  { name: 'Sqrt', range: [0.1, 2], spec: unary('Sqrt') },
  { name: 'Log', range: [0.1, 2], spec: unary('Log') },
  { name: 'Gelu (opset 20)', grad: true, spec: { ...unary('Gelu'), opset: 20 } },
  { name: 'Gelu tanh (opset 20)', spec: { ...unary('Gelu', { approximate: 'tanh' }), opset: 20 } },
  {
    name: 'Clip inputs',
    spec: {
      input: [-1, 3, 5],
      inits: [init('lo', [], 1, -0.5, -0.4), init('hi', [], 2, 0.3, 0.4)],
      nodes: [{ op: 'Clip', inputs: ['x', 'lo', 'hi'], outputs: ['y'] }],
    },
  },
  {
    name: 'Clip max only',
    spec: { input: [-1, 3, 5], inits: [init('hi', [], 2, 0.3, 0.4)], nodes: [{ op: 'Clip', inputs: ['x', '', 'hi'], outputs: ['y'] }] },
  },
  { name: 'Clip opset 6', spec: { ...unary('Clip', { min: { float: -0.2 }, max: { float: 0.5 } }), opset: 6 } },
  { name: 'Softmax opset 13 axis 1', spec: unary('Softmax', { axis: 1 }) },
  { name: 'Softmax opset 11 axis 1 (flattened)', spec: { ...unary('Softmax', { axis: 1 }), opset: 11 } },
  { name: 'LogSoftmax', grad: true, spec: unary('LogSoftmax') },
  {
    name: 'Identity + Dropout',
    spec: {
      input: [-1, 3],
      nodes: [
        { op: 'Identity', inputs: ['x'], outputs: ['h'] },
        { op: 'Dropout', inputs: ['h'], outputs: ['y'] },
      ],
    },
  },
  {
    name: 'Cast',
    spec: {
      input: [-1, 3],
      nodes: [
        { op: 'Cast', inputs: ['x'], outputs: ['h'], attrs: { to: 6 } },
        { op: 'Cast', inputs: ['h'], outputs: ['y'], attrs: { to: 1 } },
      ],
    },
    range: [-3, 3],
  },
  { name: 'Flatten axis 2', spec: { input: IMG, nodes: [{ op: 'Flatten', inputs: ['x'], outputs: ['y'], attrs: { axis: 2 } }] } },
  {
    name: 'Reshape 0 and -1',
    spec: { input: IMG, inits: [ints('s', [0, -1, 3])], nodes: [{ op: 'Reshape', inputs: ['x', 's'], outputs: ['y'] }] },
  },
  { name: 'Transpose', spec: { input: IMG, nodes: [{ op: 'Transpose', inputs: ['x'], outputs: ['y'], attrs: { perm: [0, 2, 3, 1] } }] } },
  {
    name: 'Transpose NHWC input into Conv (relabel)',
    grad: true,
    spec: {
      input: [-1, 5, 6, 3],
      inits: [init('w', [4, 3, 3, 3], 2)],
      nodes: [
        { op: 'Transpose', inputs: ['x'], outputs: ['t'], attrs: { perm: [0, 3, 1, 2] } },
        { op: 'Conv', inputs: ['t', 'w'], outputs: ['y'] },
      ],
    },
  },
  {
    name: 'Concat channels of two convs',
    spec: {
      input: IMG,
      inits: [init('w1', [2, 4, 1, 1], 1), init('w2', [3, 4, 1, 1], 2)],
      nodes: [
        conv({}, 'w1'),
        { op: 'Conv', inputs: ['x', 'w2'], outputs: ['y2'] },
        { op: 'Concat', inputs: ['y', 'y2'], outputs: ['z'], attrs: { axis: 1 } },
      ],
    },
  },
  {
    name: 'Concat plain',
    spec: {
      input: [-1, 3],
      inits: [init('c', [2, 2], 1)],
      nodes: [{ op: 'Concat', inputs: ['x', 'x'], outputs: ['y'], attrs: { axis: 1 } }],
    },
  },
  {
    name: 'Pad constant (opset 13)',
    grad: true,
    spec: {
      input: IMG,
      inits: [ints('p', [0, 0, 1, 2, 0, 1, 0, 1]), init('v', [], 1, 0.5, 0.6)],
      nodes: [{ op: 'Pad', inputs: ['x', 'p', 'v'], outputs: ['y'] }],
    },
  },
  {
    name: 'Pad reflect',
    spec: {
      input: IMG,
      inits: [ints('p', [0, 0, 1, 2, 0, 0, 2, 1])],
      nodes: [{ op: 'Pad', inputs: ['x', 'p'], outputs: ['y'], attrs: { mode: 'reflect' } }],
    },
  },
  {
    name: 'Pad after Conv (channels-last)',
    spec: {
      input: IMG,
      inits: [init('w', [3, 4, 1, 1], 1), ints('p', [0, 0, 1, 0, 0, 0, 0, 2])],
      nodes: [conv({}), { op: 'Pad', inputs: ['y', 'p'], outputs: ['z'] }],
    },
  },
  {
    name: 'Pad opset 2',
    spec: {
      input: [-1, 3],
      opset: 2,
      nodes: [{ op: 'Pad', inputs: ['x'], outputs: ['y'], attrs: { pads: [0, 1, 0, 2], value: { float: 0.25 } } }],
    },
  },
  {
    name: 'Unsqueeze + Squeeze (opset 13)',
    spec: {
      input: [-1, 3],
      inits: [ints('a', [1, 3]), ints('b', [3])],
      nodes: [
        { op: 'Unsqueeze', inputs: ['x', 'a'], outputs: ['h'] },
        { op: 'Squeeze', inputs: ['h', 'b'], outputs: ['y'] },
      ],
    },
  },
  {
    name: 'Squeeze opset 11 attribute',
    spec: { input: [-1, 1, 3], opset: 11, nodes: [{ op: 'Squeeze', inputs: ['x'], outputs: ['y'], attrs: { axes: [1] } }] },
  },
  {
    name: 'Shape/Gather/Unsqueeze/Concat/Reshape chain',
    spec: {
      input: IMG,
      inits: [ints('i', [0]), ints('a', [0]), ints('m', [-1])],
      nodes: [
        { op: 'Shape', inputs: ['x'], outputs: ['s'] },
        { op: 'Gather', inputs: ['s', 'i'], outputs: ['n'] },
        { op: 'Concat', inputs: ['n', 'm'], outputs: ['t'], attrs: { axis: 0 } },
        { op: 'Reshape', inputs: ['x', 't'], outputs: ['y'] },
      ],
    },
  },
  {
    name: 'Shape/Slice/Concat chain with a Constant',
    spec: {
      input: IMG,
      inits: [ints('st', [0]), ints('en', [2])],
      nodes: [
        { op: 'Shape', inputs: ['x'], outputs: ['s'] },
        { op: 'Slice', inputs: ['s', 'st', 'en'], outputs: ['head'] },
        {
          op: 'Constant',
          inputs: [],
          outputs: ['tail'],
          attrs: { value: { tensor: { name: 'tail', dims: [1], values: [-1], int64: true } } },
        },
        { op: 'Concat', inputs: ['head', 'tail'], outputs: ['t'], attrs: { axis: 0 } },
        { op: 'Reshape', inputs: ['x', 't'], outputs: ['y'] },
      ],
    },
  },
  {
    name: 'Slice tensor with steps',
    spec: {
      input: IMG,
      inits: [ints('st', [1, -5]), ints('en', [100, 7]), ints('ax', [2, 3]), ints('sp', [2, 1])],
      nodes: [{ op: 'Slice', inputs: ['x', 'st', 'en', 'ax', 'sp'], outputs: ['y'] }],
    },
  },
  {
    name: 'Gather tensor axis 1',
    spec: { input: IMG, inits: [ints('i', [0, 2, -1])], nodes: [{ op: 'Gather', inputs: ['x', 'i'], outputs: ['y'], attrs: { axis: 1 } }] },
  },
  {
    name: 'Constant folded into Mul',
    spec: {
      input: [-1, 3],
      nodes: [
        { op: 'Constant', inputs: [], outputs: ['c'], attrs: { value_floats: { floats: [1, 2, 3] } } },
        { op: 'Mul', inputs: ['x', 'c'], outputs: ['y'] },
      ],
    },
  },
];

function exampleShape(spec: GraphSpec): number[] {
  return [2, ...spec.input.slice(1)];
}

function importGraph(spec: GraphSpec): OnnxGraph {
  return new OnnxGraph(decodeModel(buildModel(spec), 'test.onnx'), 'test.onnx');
}

for (const c of CASES) {
  test(`${c.name}: matches onnxruntime`, async () => {
    const shape = exampleShape(c.spec);
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
      if (c.grad) await checkGradient(graph, data, shape);
    } finally {
      graph.dispose();
    }
  });
}

/** The directional derivative of sum(y · r) along v, by the tape and by a central difference. */
async function checkGradient(graph: OnnxGraph, data: Float32Array, shape: number[]): Promise<void> {
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

test('the graph holds no tensors beyond its cached constants after repeated runs and gradients', () => {
  const graph = importGraph(CASES[1]!.spec);
  try {
    const x = tf.randomUniform(IMG);
    const run = (): void => {
      tf.tidy(() => {
        graph.run(x);
        tf.grad((t: tf.Tensor) => tf.sum(graph.run(t)))(x);
      });
    };
    run();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) run();
    assert.equal(tf.memory().numTensors, before);
    x.dispose();
  } finally {
    graph.dispose();
  }
});

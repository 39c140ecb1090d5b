/**
 * Element-wise and shape ops against onnxruntime on tiny graphs built with onnx-proto
 * (outputs within 1e-4; gradients against finite differences where marked), including
 * the channels-last paths (an op on a conv output) and reshape chains computed on the host.
 */
import { before, test } from 'node:test';
import { engine } from '../../../test/fixtures.js';
import { checkCase, init, ints, type Attr, type GraphSpec, type Node, type OpCase } from '../../../test/onnx-builder.js';

before(engine);

const IMG = [2, 4, 7, 6];

const unary = (op: string, attrs?: Record<string, Attr>): GraphSpec => ({
  input: [-1, 3, 5],
  nodes: [{ op, inputs: ['x'], outputs: ['y'], ...(attrs ? { attrs } : {}) }],
});
const conv = (attrs: Record<string, Attr>, w = 'w'): Node => ({ op: 'Conv', inputs: ['x', w], outputs: ['y'], attrs });
const binary = (op: string, dims: number[]): GraphSpec => ({
  input: [-1, 4, 3, 3],
  inits: [init('w', [6, 4, 1, 1], 1), init('c', dims, 2, 0.5, 1.5)],
  nodes: [
    { op: 'Conv', inputs: ['x', 'w'], outputs: ['h'] },
    { op, inputs: ['h', 'c'], outputs: ['y'] },
  ],
});

const CASES: OpCase[] = [
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

for (const c of CASES) test(`${c.name}: matches onnxruntime`, () => checkCase(c));

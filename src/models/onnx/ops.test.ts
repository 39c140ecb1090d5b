/**
 * Convolution, pooling, normalisation and dense ops against onnxruntime on tiny graphs built
 * with onnx-proto (outputs within 1e-4; gradients against finite differences where marked).
 * Element-wise and shape ops: ops-shape.test.ts.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { engine } from '../../../test/fixtures.js';
import { checkCase, importGraph, init, type Node, type OpCase } from '../../../test/onnx-builder.js';

before(engine);

const IMG = [2, 4, 7, 6];

const conv = (attrs: Node['attrs'], w = 'w', b?: string): Node => ({
  op: 'Conv',
  inputs: ['x', w, ...(b ? [b] : [])],
  outputs: ['y'],
  attrs,
});

const CASES: OpCase[] = [
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
];

for (const c of CASES) test(`${c.name}: matches onnxruntime`, () => checkCase(c));

test('a grouped conv too large for one block-diagonal kernel runs one conv per group', () =>
  checkCase({
    name: 'Conv 1024 groups',
    spec: { input: [-1, 1024, 3, 3], inits: [init('w', [1024, 1, 3, 3], 8)], nodes: [conv({ group: 1024, pads: [1, 1, 1, 1] })] },
  }));

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

/**
 * The wasm gradient kernels against the cpu backend (the reference semantics): conv
 * input and filter gradients, max and average pool gradients over a table of shapes,
 * strides and paddings, ties in max pooling, the stock fallbacks, memory stability and
 * one Adam step of a small CNN. The conv gradients' SIMD routes: ./conv2d-simd-routes.test.ts.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';

import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-wasm';

import { EngineError } from '../../core/errors.js';

import {
  activeWasmGradientKernels,
  conv2DBackpropFilterOptions,
  conv2DBackpropInputOptions,
  registerWasmGradientKernels,
  restoreStockWasmKernels,
  WASM_GRADIENT_KERNEL_NAMES,
} from './index.js';
import { seededValues } from '../../../test/kernel-support.js';
import { type ConvCase, type Pad, assertClose, convGrads, describeConv, onBoth } from '../../../test/conv-kernel-support.js';
import { sizeOf } from '../../core/types.js';
import { simdKernels } from '../simd/index.js';

type Shape4 = [number, number, number, number];

function convCases(): ConvCase[] {
  const cases: ConvCase[] = [];
  const pads: Pad[] = [
    'same',
    'valid',
    1,
    [
      [0, 0],
      [2, 0],
      [1, 2],
      [0, 0],
    ],
  ];
  const channels = [1, 3, 8];
  let i = 0;
  for (const stride of [1, 2]) {
    for (const pad of pads) {
      for (const kernel of [1, 3, 5]) {
        for (const size of [7, 8]) {
          cases.push({
            batch: i % 2 === 0 ? 1 : 5,
            size: [size, size + (i % 3 === 0 ? 1 : 0)],
            cin: channels[i % 3]!,
            cout: channels[Math.floor(i / 3) % 3]!,
            kernel,
            stride,
            pad,
          });
          i++;
        }
      }
    }
  }
  return cases;
}

interface PoolCase {
  batch: number;
  size: [number, number];
  channels: number;
  filter: number;
  stride: number;
  pad: 'same' | 'valid';
  data: 'random' | 'relu' | 'plateaus' | 'constant' | 'extremes' | 'neginf' | 'positive';
}

function poolInput(c: PoolCase, n: number, seed: number): Float32Array {
  const v = seededValues(n, seed);
  switch (c.data) {
    case 'random':
      return v;
    case 'relu':
      return v.map((a) => Math.max(0, a));
    case 'plateaus':
      // Three levels, so most windows hold several equal maxima.
      return v.map((a) => Math.floor((a + 1) * 1.5));
    case 'constant':
      return v.fill(0.25);
    case 'extremes':
      // cpu lets neither NaN nor -Infinity win a window; a window of only those passes nothing.
      return v.map((a) => (a < -0.6 ? -Infinity : a > 0.8 ? NaN : a));
    case 'positive':
      return v.map((a) => a + 2);
    case 'neginf':
      // Without NaN the kernel trusts the pooled output; some windows are all -Infinity.
      return v.map((a) => (a < -0.2 ? -Infinity : a));
  }
}

function poolGrads(c: PoolCase, op: 'max' | 'avg', seed: number): () => Float32Array[] {
  const xShape: Shape4 = [c.batch, c.size[0], c.size[1], c.channels];
  const xv = poolInput(c, sizeOf(xShape), seed);
  const pool = (a: tf.Tensor) =>
    op === 'max' ? tf.maxPool(a as tf.Tensor4D, c.filter, c.stride, c.pad) : tf.avgPool(a as tf.Tensor4D, c.filter, c.stride, c.pad);
  return () =>
    tf.tidy(() => {
      const x = tf.tensor4d(xv, xShape);
      const y = pool(x);
      const g = tf.tensor(seededValues(sizeOf(y.shape), seed + 1), y.shape);
      const gx = tf.grad((a: tf.Tensor) => pool(a).mul(g).sum())(x);
      return [gx.dataSync() as Float32Array];
    });
}

function poolCases(datas: PoolCase['data'][]): PoolCase[] {
  const cases: PoolCase[] = [];
  let i = 0;
  for (const [filter, stride] of [
    [2, 2],
    [3, 1],
    [3, 2],
  ] as const) {
    for (const pad of ['same', 'valid'] as const) {
      for (const size of [7, 8]) {
        for (const data of datas) {
          cases.push({ batch: i % 2 === 0 ? 5 : 1, size: [size, size], channels: [1, 3, 8][i % 3]!, filter, stride, pad, data });
          i++;
        }
      }
    }
  }
  return cases;
}

function describePool(c: PoolCase): string {
  return `b${c.batch} ${c.size.join('x')}x${c.channels} f${c.filter} s${c.stride} ${c.pad} ${c.data}`;
}

function wasmBackend(): BackendWasm {
  return tf.findBackend('wasm') as BackendWasm;
}

let stockMaxPoolGrad: tf.KernelFunc | undefined;

before(async () => {
  stockMaxPoolGrad = tf.getKernel(tf.MaxPoolGrad, 'wasm')?.kernelFunc;
  registerWasmGradientKernels();
  await tf.setBackend('wasm');
  await tf.ready();
});

describe('registration', () => {
  it('is idempotent, lists its kernels, and restores the stock ones', () => {
    const first = tf.getKernel(tf.MaxPoolGrad, 'wasm')?.kernelFunc;
    registerWasmGradientKernels();
    assert.equal(tf.getKernel(tf.MaxPoolGrad, 'wasm')?.kernelFunc, first);
    assert.notEqual(first, stockMaxPoolGrad);
    assert.deepEqual([...activeWasmGradientKernels()].sort(), [...WASM_GRADIENT_KERNEL_NAMES].sort());
    assert.ok(WASM_GRADIENT_KERNEL_NAMES.includes(tf.Conv2DBackpropFilter));

    // Ours were registered before the backend initialised, so running the stock kernel
    // checks that it was still set up (its setupFunc rides along with ours). Positive,
    // distinct inputs: the stock kernel sends ties to the last position and misroutes
    // windows whose maximum is <= 0, unlike cpu.
    const grads = poolGrads({ batch: 2, size: [8, 8], channels: 3, filter: 2, stride: 2, pad: 'valid', data: 'positive' }, 'max', 1);
    const ours = grads();
    try {
      restoreStockWasmKernels();
      assert.equal(tf.getKernel(tf.MaxPoolGrad, 'wasm')?.kernelFunc, stockMaxPoolGrad);
      assert.equal(tf.getKernel(tf.Conv2DBackpropFilter, 'wasm'), undefined);
      assert.deepEqual(activeWasmGradientKernels(), []);
      assertClose(ours, grads(), 'stock MaxPoolGrad after restore');
      restoreStockWasmKernels();
    } finally {
      registerWasmGradientKernels();
    }
    assert.notEqual(tf.getKernel(tf.Conv2DBackpropFilter, 'wasm'), undefined);
    assert.notEqual(tf.getKernel(tf.MaxPoolGrad, 'wasm')?.kernelFunc, stockMaxPoolGrad);
  });
});

describe('Conv2DBackpropInput and Conv2DBackpropFilter match cpu', () => {
  const cases = convCases();
  cases.forEach((c, i) => {
    it(describeConv(c), async () => {
      const { cpu, wasm } = await onBoth(convGrads(c, 100 + i));
      assertClose(cpu, wasm, describeConv(c));
    });
  });

  const extra: ConvCase[] = [
    // Forward padding wider than filter - 1: the input gradient crops dy.
    { batch: 2, size: [6, 5], cin: 3, cout: 2, kernel: 3, stride: 1, pad: 3 },
    { batch: 2, size: [6, 5], cin: 3, cout: 2, kernel: 3, stride: 2, pad: 3 },
    {
      batch: 2,
      size: [7, 6],
      cin: 3,
      cout: 4,
      kernel: 3,
      stride: 2,
      pad: [
        [0, 0],
        [4, 1],
        [0, 5],
        [0, 0],
      ],
    },
    // Every output cell reads padding only, so the input gradient is all zeros.
    { batch: 2, size: [1, 1], cin: 2, cout: 3, kernel: 1, stride: 4, pad: 2 },
    { batch: 3, size: [9, 6], cin: 8, cout: 3, kernel: 5, stride: 2, pad: 'same' },
    { batch: 1, size: [4, 4], cin: 2, cout: 2, kernel: 5, stride: 1, pad: 'same' },
  ];
  extra.forEach((c, i) => {
    it(`${describeConv(c)} (edge)`, async () => {
      const { cpu, wasm } = await onBoth(convGrads(c, 900 + i));
      assertClose(cpu, wasm, describeConv(c));
    });
  });

  it('splits both gradients into chunks of one (image, output row)', async () => {
    const saved = [conv2DBackpropFilterOptions.maxPatchFloats, conv2DBackpropInputOptions.maxColsFloats] as const;
    conv2DBackpropInputOptions.maxColsFloats = 1;
    try {
      const chunked: ConvCase[] = [
        // Cout > KH*KW*Cin: the product is dyᵀ · patches.
        { batch: 3, size: [9, 8], cin: 1, cout: 8, kernel: 1, stride: 2, pad: 'same' },
        { batch: 2, size: [7, 7], cin: 1, cout: 16, kernel: 3, stride: 1, pad: 'valid' },
        // Cout <= KH*KW*Cin: the product is patchesᵀ · dy.
        { batch: 5, size: [8, 7], cin: 3, cout: 4, kernel: 3, stride: 1, pad: 1 },
        { batch: 2, size: [8, 8], cin: 2, cout: 3, kernel: 5, stride: 2, pad: 'same' },
      ];
      for (const [i, c] of chunked.entries()) {
        conv2DBackpropFilterOptions.maxPatchFloats = 1;
        const { cpu, wasm } = await onBoth(convGrads(c, 700 + i));
        assertClose(cpu, wasm, `${describeConv(c)} chunked`);
      }
    } finally {
      [conv2DBackpropFilterOptions.maxPatchFloats, conv2DBackpropInputOptions.maxColsFloats] = saved;
    }
  });

  it('rejects NCHW in Conv2DBackpropFilter with a typed error', async () => {
    await tf.setBackend('wasm');
    const x = tf.zeros([1, 2, 5, 5]);
    const dy = tf.zeros([1, 4, 3, 3]);
    assert.throws(
      () =>
        tf
          .engine()
          .runKernel(tf.Conv2DBackpropFilter, { x, dy }, { strides: 1, pad: 'valid', dataFormat: 'NCHW', filterShape: [3, 3, 2, 4] }),
      (e: unknown) => e instanceof EngineError && e.code === 'E_KERNEL_DATA_FORMAT',
    );
    tf.dispose([x, dy]);
  });
});

describe('MaxPoolGrad matches cpu, ties included', () => {
  poolCases(['random', 'relu', 'plateaus', 'constant', 'extremes', 'neginf']).forEach((c, i) => {
    it(describePool(c), async () => {
      const { cpu, wasm } = await onBoth(poolGrads(c, 'max', 300 + i));
      assertClose(cpu, wasm, describePool(c));
    });
  });
});

describe('MaxPoolGrad SIMD path (2x2, stride 2, channels a multiple of 4) matches cpu', () => {
  it('runs on this engine', async () => {
    await tf.setBackend('wasm');
    assert.ok(simdKernels(wasmBackend()) !== undefined, 'the SIMD kernels did not instantiate on the wasm backend');
  });
  const cases: PoolCase[] = [];
  for (const data of ['random', 'relu', 'plateaus', 'constant', 'extremes', 'neginf'] as const) {
    for (const [size, channels, pad] of [
      [[8, 8], 4, 'valid'],
      [[7, 9], 12, 'valid'], // odd sizes: the last row and column belong to no window
      [[6, 10], 8, 'same'],
    ] as const) {
      cases.push({ batch: 3, size: [size[0], size[1]], channels, filter: 2, stride: 2, pad, data });
    }
  }
  cases.forEach((c, i) => {
    it(describePool(c), async () => {
      const { cpu, wasm } = await onBoth(poolGrads(c, 'max', 700 + i));
      assertClose(cpu, wasm, describePool(c));
    });
  });
});

describe('AvgPoolGrad matches cpu', () => {
  poolCases(['random']).forEach((c, i) => {
    it(describePool(c), async () => {
      const { cpu, wasm } = await onBoth(poolGrads(c, 'avg', 500 + i));
      assertClose(cpu, wasm, describePool(c));
    });
  });
});

describe('memory', () => {
  it('keeps tensors and wasm data ids stable across repeated gradients', async () => {
    await tf.setBackend('wasm');
    const saved = [conv2DBackpropFilterOptions.maxPatchFloats, conv2DBackpropInputOptions.maxColsFloats] as const;
    try {
      const steps = [
        convGrads({ batch: 3, size: [9, 8], cin: 3, cout: 4, kernel: 3, stride: 2, pad: 'same' }, 1),
        convGrads({ batch: 2, size: [8, 8], cin: 2, cout: 3, kernel: 3, stride: 1, pad: 'valid' }, 2),
        convGrads({ batch: 2, size: [6, 6], cin: 2, cout: 3, kernel: 3, stride: 1, pad: 3 }, 3),
        poolGrads({ batch: 2, size: [8, 8], channels: 3, filter: 3, stride: 2, pad: 'same', data: 'relu' }, 'max', 4),
        poolGrads({ batch: 2, size: [8, 8], channels: 3, filter: 2, stride: 2, pad: 'valid', data: 'random' }, 'avg', 5),
      ];
      // Once with the default chunking and once with many small chunks.
      const runAll = () => {
        [conv2DBackpropFilterOptions.maxPatchFloats, conv2DBackpropInputOptions.maxColsFloats] = saved;
        steps.forEach((s) => s());
        conv2DBackpropFilterOptions.maxPatchFloats = 200;
        conv2DBackpropInputOptions.maxColsFloats = 200;
        steps.forEach((s) => s());
      };
      runAll();
      const tensors = tf.memory().numTensors;
      const dataIds = wasmBackend().numDataIds();
      for (let i = 0; i < 5; i++) {
        runAll();
        assert.equal(tf.memory().numTensors, tensors, `numTensors after run ${i + 1}`);
        assert.equal(wasmBackend().numDataIds(), dataIds, `numDataIds after run ${i + 1}`);
      }
    } finally {
      [conv2DBackpropFilterOptions.maxPatchFloats, conv2DBackpropInputOptions.maxColsFloats] = saved;
    }
  });
});

describe('end to end', () => {
  it('one Adam step of a small CNN on wasm gives the cpu weights', async () => {
    const batch = 5;
    const xv = seededValues(batch * 12 * 12, 11);
    const labels = Array.from({ length: batch }, (_, i) => (i * 7) % 10);

    const step = (): Float32Array[] => {
      const model = tf.sequential({
        layers: [
          tf.layers.conv2d({ inputShape: [12, 12, 1], filters: 8, kernelSize: 3, padding: 'same', activation: 'relu' }),
          tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }),
          // No activation: under a gradient tape TF.js keeps this one fused, so its
          // backward pass goes through the fused conv's custom gradient.
          tf.layers.conv2d({ filters: 16, kernelSize: 3, padding: 'valid' }),
          tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }),
          tf.layers.flatten(),
          tf.layers.dense({ units: 10 }),
        ],
      });
      model.setWeights(
        model.getWeights().map((w, i) =>
          tf.tensor(
            seededValues(w.size, 40 + i).map((v) => v * 0.4),
            w.shape,
          ),
        ),
      );
      const x = tf.tensor4d(xv, [batch, 12, 12, 1]);
      const y = tf.oneHot(tf.tensor1d(labels, 'int32'), 10);
      const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
      const optimizer = tf.train.adam();
      optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x) as tf.Tensor) as tf.Scalar, false, vars);
      const out = model.getWeights().map((w) => w.dataSync() as Float32Array);
      optimizer.dispose();
      model.dispose();
      tf.dispose([x, y]);
      return out;
    };

    const { cpu, wasm } = await onBoth(step);
    assertClose(cpu, wasm, 'weights after one Adam step');
  });
});

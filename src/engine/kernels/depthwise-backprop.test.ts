/**
 * The wasm depthwise convolution gradients against the cpu backend, over shapes, strides,
 * paddings, kernel sizes and channel multipliers: the SIMD route (multiplier 1, channels
 * % 4 === 0, a grid below) and the JS loops (other multipliers and channel counts, and
 * the SIMD cases again with the SIMD route off).
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';

import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

import { relError, seededValues } from '../../../test/kernel-support.js';
import { activeWasmGradientKernels, depthwiseBackpropOptions, registerWasmGradientKernels } from './index.js';

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];

interface Case {
  batch: number;
  size: [number, number];
  channels: number;
  multiplier: number;
  kernel: [number, number];
  stride: number;
  dilation: number;
  pad: Pad;
}

const CASES: Case[] = [
  { batch: 2, size: [8, 8], channels: 4, multiplier: 1, kernel: [3, 3], stride: 1, dilation: 1, pad: 'same' },
  { batch: 2, size: [8, 8], channels: 6, multiplier: 1, kernel: [3, 3], stride: 2, dilation: 1, pad: 'same' },
  { batch: 1, size: [9, 7], channels: 3, multiplier: 1, kernel: [3, 3], stride: 2, dilation: 1, pad: 'valid' },
  { batch: 2, size: [7, 7], channels: 5, multiplier: 2, kernel: [3, 3], stride: 1, dilation: 1, pad: 'valid' },
  { batch: 1, size: [10, 10], channels: 4, multiplier: 3, kernel: [5, 3], stride: 2, dilation: 1, pad: 'same' },
  { batch: 2, size: [9, 9], channels: 4, multiplier: 1, kernel: [5, 5], stride: 3, dilation: 1, pad: 'same' },
  {
    batch: 2,
    size: [8, 8],
    channels: 8,
    multiplier: 1,
    kernel: [3, 3],
    stride: 2,
    dilation: 1,
    pad: [
      [0, 0],
      [1, 1],
      [1, 1],
      [0, 0],
    ],
  },
  { batch: 3, size: [32, 32], channels: 16, multiplier: 1, kernel: [3, 3], stride: 1, dilation: 1, pad: 'same' },
];

// The SIMD route's grid: channels 4 (one vector), 20 (a 16-channel block and a 4-channel
// one) and 32; kernels 3 and 5; strides 1 and 2; same and valid padding; odd sizes.
const SIMD_GRID: Case[] = [];
for (const [channels, size] of [
  [4, [7, 9]],
  [20, [8, 8]],
  [32, [11, 6]],
] as const) {
  for (const k of [3, 5]) {
    for (const stride of [1, 2]) {
      for (const pad of ['same', 'valid'] as const) {
        SIMD_GRID.push({ batch: 2, size: [...size], channels, multiplier: 1, kernel: [k, k], stride, dilation: 1, pad });
      }
    }
  }
}

function gradients(c: Case, seed: number): () => Float32Array[] {
  const xShape = [c.batch, ...c.size, c.channels] as [number, number, number, number];
  const wShape = [...c.kernel, c.channels, c.multiplier] as [number, number, number, number];
  const xv = seededValues(
    xShape.reduce((a, b) => a * b, 1),
    seed,
  );
  const wv = seededValues(
    wShape.reduce((a, b) => a * b, 1),
    seed + 1,
  );
  return () =>
    tf.tidy(() => {
      const x = tf.tensor4d(xv, xShape);
      const w = tf.tensor4d(wv, wShape);
      const conv = (a: tf.Tensor, b: tf.Tensor) =>
        tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad, 'NHWC', c.dilation);
      const y = conv(x, w);
      const g = tf.tensor(seededValues(y.size, seed + 2), y.shape);
      const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => conv(a, b).mul(g).sum())([x, w]);
      return [gx!.dataSync() as Float32Array, gw!.dataSync() as Float32Array];
    });
}

/** Both gradients of case `c` on wasm within 1e-4 (relative) of the cpu backend's. */
async function assertMatchesCpu(c: Case, seed: number, label: string): Promise<void> {
  const f = gradients(c, seed);
  await tf.setBackend('cpu');
  const cpu = f();
  await tf.setBackend('wasm');
  const wasm = f();
  cpu.forEach((ref, k) => {
    const err = relError(ref, wasm[k]!);
    assert.ok(err <= 1e-4, `${label}: ${k === 0 ? 'input' : 'filter'} gradient relative error ${err.toExponential(2)}`);
  });
}

before(async () => {
  registerWasmGradientKernels();
  await tf.setBackend('wasm');
  await tf.ready();
});

describe('depthwise convolution gradients on wasm', () => {
  it('are ours', () => {
    const active = activeWasmGradientKernels();
    assert.ok(active.includes(tf.DepthwiseConv2dNativeBackpropInput) && active.includes(tf.DepthwiseConv2dNativeBackpropFilter));
  });

  CASES.forEach((c, i) => {
    const label = `[${c.batch},${c.size},${c.channels}] x${c.multiplier} k${c.kernel} s${c.stride} d${c.dilation} ${typeof c.pad === 'string' ? c.pad : 'explicit'}`;
    it(`match the cpu backend to 1e-4: ${label}`, () => assertMatchesCpu(c, 100 + i, label));
  });

  const routes = [
    { simd: true, transposed: true, label: 'SIMD, stride-1 input gradient as XNNPACK depthwise' },
    { simd: true, transposed: false, label: 'SIMD scatter for every input gradient' },
    { simd: false, transposed: false, label: 'JS loops' },
  ];
  for (const { simd, transposed, label } of routes) {
    it(`match the cpu backend to 1e-4 over the SIMD grid (${label})`, async () => {
      Object.assign(depthwiseBackpropOptions, { simd, transposed });
      try {
        for (const [i, c] of SIMD_GRID.entries()) await assertMatchesCpu(c, 300 + i, `case ${i} ${JSON.stringify(c)}`);
      } finally {
        Object.assign(depthwiseBackpropOptions, { simd: true, transposed: true });
      }
    });
  }

  it('do not leak tensors', () => {
    const f = gradients(CASES[0]!, 1);
    f();
    const before = tf.memory().numTensors;
    f();
    assert.equal(tf.memory().numTensors, before);
  });
});

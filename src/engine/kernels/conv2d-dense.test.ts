/**
 * The dense SIMD convolution gradients (../simd/conv-dense.wat) against the cpu backend, over
 * shapes, strides, paddings and tile sizes: called directly on the wasm heap, and through
 * `tf.grads` with the kernel's route forced on; memory stays flat.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';

import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-wasm';

import { relError, seededValues } from '../../../test/kernel-support.js';
import { sizeOf } from '../../core/types.js';
import { simdKernels } from '../simd/index.js';
import { conv2DBackpropFilterOptions, conv2DOptions, conv2DWasm, registerWasmGradientKernels } from './index.js';
import { convGeometry } from './kernel-io.js';

const TOLERANCE = 1e-4;

type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];
type Shape4 = [number, number, number, number];

interface Case {
  batch: number;
  size: [number, number];
  cin: number;
  cout: number;
  kernel: [number, number];
  stride: [number, number];
  pad: Pad;
}

const explicit = (t: number, b: number, l: number, r: number): Pad => [
  [0, 0],
  [t, b],
  [l, r],
  [0, 0],
];

/** ResNet-20's layers (batch cut down), then strides, paddings and channel counts around them. */
const CASES: Case[] = [
  { batch: 2, size: [32, 32], cin: 16, cout: 16, kernel: [3, 3], stride: [1, 1], pad: 'same' },
  { batch: 2, size: [34, 34], cin: 16, cout: 32, kernel: [3, 3], stride: [2, 2], pad: 'valid' },
  { batch: 2, size: [32, 32], cin: 16, cout: 32, kernel: [1, 1], stride: [2, 2], pad: 'valid' },
  { batch: 2, size: [16, 16], cin: 32, cout: 32, kernel: [3, 3], stride: [1, 1], pad: 'same' },
  { batch: 3, size: [8, 8], cin: 64, cout: 64, kernel: [3, 3], stride: [1, 1], pad: 'same' },
  { batch: 2, size: [16, 16], cin: 32, cout: 64, kernel: [3, 3], stride: [2, 2], pad: explicit(1, 1, 1, 1) },
  { batch: 1, size: [7, 9], cin: 4, cout: 8, kernel: [3, 3], stride: [2, 2], pad: 'same' },
  { batch: 2, size: [7, 8], cin: 8, cout: 8, kernel: [5, 5], stride: [1, 1], pad: 'same' },
  { batch: 2, size: [9, 7], cin: 4, cout: 24, kernel: [3, 5], stride: [3, 2], pad: 'valid' },
  { batch: 1, size: [6, 5], cin: 12, cout: 16, kernel: [3, 3], stride: [1, 1], pad: 3 },
  { batch: 2, size: [6, 7], cin: 8, cout: 8, kernel: [3, 3], stride: [2, 1], pad: explicit(2, 0, 1, 2) },
  { batch: 2, size: [5, 5], cin: 4, cout: 8, kernel: [5, 5], stride: [2, 2], pad: 2 },
  { batch: 1, size: [3, 3], cin: 4, cout: 8, kernel: [3, 3], stride: [1, 1], pad: 'valid' },
  { batch: 2, size: [8, 8], cin: 256, cout: 8, kernel: [1, 1], stride: [1, 1], pad: 'valid' },
];

function describeCase(c: Case): string {
  return `b${c.batch} ${c.size.join('x')}x${c.cin}->${c.cout} k${c.kernel.join('x')} s${c.stride.join('x')} pad ${JSON.stringify(c.pad)}`;
}

function inputs(c: Case, seed: number): { xv: Float32Array; wv: Float32Array; xShape: Shape4; wShape: Shape4 } {
  const xShape: Shape4 = [c.batch, c.size[0], c.size[1], c.cin];
  const wShape: Shape4 = [c.kernel[0], c.kernel[1], c.cin, c.cout];
  return { xv: seededValues(sizeOf(xShape), seed), wv: seededValues(sizeOf(wShape), seed + 1), xShape, wShape };
}

/** Both gradients of sum(conv(x, w) * g) on the current backend. */
function grads(c: Case, seed: number): Float32Array[] {
  const { xv, wv, xShape, wShape } = inputs(c, seed);
  return tf.tidy(() => {
    const x = tf.tensor4d(xv, xShape);
    const w = tf.tensor4d(wv, wShape);
    const conv = (a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad);
    const y = conv(x, w);
    const g = tf.tensor(seededValues(y.size, seed + 2), y.shape);
    const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => conv(a, b).mul(g).sum())([x, w]);
    return [gx!.dataSync() as Float32Array, gw!.dataSync() as Float32Array, y.dataSync() as Float32Array];
  });
}

async function onCpu<T>(f: () => T): Promise<T> {
  await tf.setBackend('cpu');
  try {
    return f();
  } finally {
    await tf.setBackend('wasm');
  }
}

function assertClose(ref: Float32Array, got: Float32Array, label: string): void {
  const err = relError(ref, got);
  assert.ok(err <= TOLERANCE, `${label}: relative error ${err.toExponential(2)} > ${TOLERANCE}`);
}

before(async () => {
  registerWasmGradientKernels();
  await tf.setBackend('wasm');
  await tf.ready();
});

describe('dense SIMD filter gradient, called directly', () => {
  CASES.forEach((c, i) => {
    for (const tileRows of [1, 3, 1000]) {
      it(`${describeCase(c)}, tiles of ${tileRows} rows`, async () => {
        const seed = 300 + i;
        const [, ref] = await onCpu(() => grads(c, seed));
        const backend = tf.backend() as BackendWasm;
        const simd = simdKernels(backend);
        assert.ok(simd !== undefined, 'SIMD kernels run on this engine');
        const { xv, xShape, wShape } = inputs(c, seed);
        const x = tf.tensor4d(xv, xShape);
        const info = tf.backend_util.computeConv2DInfo(xShape, wShape, c.stride, 1, c.pad, undefined, false, 'channelsLast');
        const dy = tf.tensor(seededValues(info.batchSize * info.outHeight * info.outWidth * info.outChannels, seed + 2), info.outShape);
        const dw = tf.zeros(wShape).add(Number.NaN); // the kernel must overwrite every entry
        simd.convFilterGradientDense(x, dy, dw, convGeometry(info), tileRows);
        assertClose(ref!, dw.dataSync() as Float32Array, describeCase(c));
        tf.dispose([x, dy, dw]);
      });
    }
  });
});

describe('Conv2DBackpropFilter on the dense SIMD route matches cpu', () => {
  CASES.forEach((c, i) => {
    it(describeCase(c), async () => {
      const seed = 500 + i;
      const [, ref] = await onCpu(() => grads(c, seed));
      const saved = { ...conv2DBackpropFilterOptions };
      // A dense dy is never sparse, but the threshold is set so the route cannot depend on it.
      Object.assign(conv2DBackpropFilterOptions, { sparseMaxDensity: 0, dense: true, denseTileBytes: 1 });
      try {
        assertClose(ref!, grads(c, seed)[1]!, describeCase(c));
      } finally {
        Object.assign(conv2DBackpropFilterOptions, saved);
      }
    });
  });

  it('does not leak tensors', () => {
    const c = CASES[1]!;
    grads(c, 1);
    const before = tf.memory().numTensors;
    grads(c, 1);
    grads(c, 2);
    assert.equal(tf.memory().numTensors, before);
  });
});

/** Output width a multiple of 4 and output channels of 8, so the forward SIMD route takes them. */
const outWidth = (c: Case) =>
  tf.backend_util.computeConv2DInfo(
    [c.batch, ...c.size, c.cin],
    [...c.kernel, c.cin, c.cout],
    c.stride,
    1,
    c.pad,
    undefined,
    false,
    'channelsLast',
  ).outWidth;
const FORWARD_CASES: Case[] = [
  ...CASES.filter((c) => c.cout % 8 === 0 && outWidth(c) % 4 === 0),
  { batch: 2, size: [8, 8], cin: 3, cout: 16, kernel: [3, 3], stride: [1, 1], pad: 'same' },
  { batch: 1, size: [9, 8], cin: 5, cout: 8, kernel: [3, 3], stride: [2, 2], pad: 'same' },
  { batch: 2, size: [6, 12], cin: 8, cout: 16, kernel: [2, 3], stride: [1, 3], pad: explicit(0, 2, 1, 0) },
  { batch: 1, size: [4, 4], cin: 16, cout: 8, kernel: [5, 5], stride: [1, 1], pad: 4 },
];

describe('Conv2D (and the stride-1 input gradient through it) on the SIMD route matches cpu', () => {
  FORWARD_CASES.forEach((c, i) => {
    it(describeCase(c), async () => {
      const seed = 700 + i;
      const ref = await onCpu(() => grads(c, seed));
      const got = grads(c, seed);
      assertClose(ref[2]!, got[2]!, `${describeCase(c)} forward`);
      assertClose(ref[0]!, got[0]!, `${describeCase(c)} input gradient`);
      assertClose(ref[1]!, got[1]!, `${describeCase(c)} filter gradient`);
    });
  });

  it('is the route taken for these shapes, and the stock kernel agrees', async () => {
    const backend = tf.backend() as BackendWasm;
    for (const c of FORWARD_CASES) {
      tf.tidy(() => {
        const { xv, wv, xShape, wShape } = inputs(c, 1);
        const args = {
          inputs: { x: tf.tensor4d(xv, xShape), filter: tf.tensor4d(wv, wShape) },
          backend,
          attrs: { strides: c.stride, pad: c.pad, dataFormat: 'NHWC', dilations: [1, 1] },
        };
        const y = conv2DWasm(args as unknown as Parameters<typeof conv2DWasm>[0]);
        assert.ok(y !== undefined, `${describeCase(c)} takes the SIMD route`);
        backend.disposeData(y.dataId);
      });
    }
    const c = FORWARD_CASES[0]!;
    const ours = grads(c, 1);
    conv2DOptions.direct = false;
    try {
      grads(c, 1).forEach((v, k) => assertClose(v, ours[k]!, `stock, output ${k}`));
    } finally {
      conv2DOptions.direct = true;
    }
  });
});

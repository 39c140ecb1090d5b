/**
 * The SIMD routes of the conv gradients against the cpu backend: the sparse scatter (both
 * gradients, input channels a multiple of 4, dy mostly zero; its shape gates opened so these
 * small cases take it), the one-channel filter gradient and the gathered input gradient of
 * one or two input channels at stride 1.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-wasm';

import { type ConvCase, type Pad, assertClose, convGrads, describeConv, onBoth } from '../../../test/conv-kernel-support.js';
import { simdKernels } from '../simd/index.js';
import { conv2DBackpropFilterOptions, conv2DBackpropInputOptions, registerWasmGradientKernels } from './index.js';

before(async () => {
  registerWasmGradientKernels();
  await tf.setBackend('wasm');
  await tf.ready();
});

describe('Conv2D gradients: SIMD routes match cpu', () => {
  // Input channels a multiple of 4: the sparse scatter (both gradients) when dy is mostly
  // zero (its shape gates opened, so these small cases take it); one input channel: the
  // one-channel filter gradient and, at stride 1, the gathered input gradient (one or two
  // input channels).
  const gates = [conv2DBackpropInputOptions, conv2DBackpropFilterOptions].map((o) => ({ ...o }));
  before(() => {
    for (const o of [conv2DBackpropInputOptions, conv2DBackpropFilterOptions])
      Object.assign(o, { sparseMinInChannels: 0, sparseMinTaps: 1 });
  });
  after(() => {
    Object.assign(conv2DBackpropInputOptions, gates[0]);
    Object.assign(conv2DBackpropFilterOptions, gates[1]);
  });
  const cases: ConvCase[] = [];
  const pads: Pad[] = [
    'same',
    'valid',
    2,
    [
      [0, 0],
      [2, 0],
      [1, 2],
      [0, 0],
    ],
  ];
  pads.forEach((pad, i) => {
    cases.push({ batch: 3, size: [7, 9], cin: 8, cout: 5, kernel: 3, stride: 1, pad });
    cases.push({ batch: 2, size: [6, 6], cin: 4, cout: 12, kernel: i % 2 === 0 ? 5 : 1, stride: 1, pad });
    cases.push({ batch: 2, size: [8, 7], cin: 1, cout: 8, kernel: 3, stride: 1, pad });
    cases.push({ batch: 1, size: [5, 6], cin: 1, cout: 4, kernel: 5, stride: 1, pad });
    cases.push({ batch: 2, size: [7, 6], cin: 2, cout: 8, kernel: 3, stride: 1, pad });
    cases.push({ batch: 2, size: [9, 8], cin: 4, cout: 6, kernel: 3, stride: 2, pad });
    cases.push({ batch: 2, size: [9, 8], cin: 1, cout: 8, kernel: 3, stride: 2, pad });
  });
  for (const zeroShare of [0.8, 0.99]) {
    cases.forEach((c, i) => {
      it(`${describeConv(c)}, ${zeroShare * 100}% of dy zero`, async () => {
        await tf.setBackend('wasm');
        assert.ok(simdKernels(tf.findBackend('wasm') as BackendWasm) !== undefined, 'the SIMD kernels did not instantiate');
        const { cpu, wasm } = await onBoth(convGrads(c, 900 + i, zeroShare));
        assertClose(cpu, wasm, describeConv(c));
      });
    });
  }
  it('the sparse route forced on a dense dy still matches cpu', async () => {
    const saved = [conv2DBackpropInputOptions.sparseMaxDensity, conv2DBackpropFilterOptions.sparseMaxDensity] as const;
    conv2DBackpropInputOptions.sparseMaxDensity = 1;
    conv2DBackpropFilterOptions.sparseMaxDensity = 1;
    try {
      for (const [i, c] of cases.filter((k) => k.cin % 4 === 0).entries()) {
        const { cpu, wasm } = await onBoth(convGrads(c, 950 + i));
        assertClose(cpu, wasm, describeConv(c));
      }
    } finally {
      [conv2DBackpropInputOptions.sparseMaxDensity, conv2DBackpropFilterOptions.sparseMaxDensity] = saved;
    }
  });
});

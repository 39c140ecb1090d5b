/**
 * The SIMD kernels module: the committed binary is the assembled .wat (so the two cannot
 * drift apart), it instantiates on the wasm backend's memory, and the switch turns it
 * off. The kernels' numbers are checked against the cpu backend in
 * ../kernels/kernels.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

import { assembleSimdKernels, simdKernelsModuleSource } from '../../../scripts/build-wasm.js';
import { initEngine } from '../backend.js';
import { SIMD_KERNELS_WASM_BASE64 } from './kernels-wasm.js';
import { readFileSync } from 'node:fs';
import { simdKernelOptions, simdKernels } from './index.js';

describe('SIMD kernels module', () => {
  it('the committed kernels-wasm.ts is kernels.wat assembled (run `npm run build:wasm` after editing the .wat)', async () => {
    const bytes = await assembleSimdKernels();
    assert.equal(Buffer.from(bytes).toString('base64'), SIMD_KERNELS_WASM_BASE64);
    assert.equal(readFileSync(new URL('./kernels-wasm.ts', import.meta.url), 'utf8'), simdKernelsModuleSource(bytes));
  });

  it('instantiates on the wasm backend and works in place on its heap', async () => {
    await initEngine({ backend: 'wasm' });
    const backend = tf.backend() as BackendWasm;
    const simd = simdKernels(backend);
    assert.ok(simd !== undefined);
    assert.equal(simdKernels(backend), simd, 'one instance per backend memory');
    // 3 of 7 non-zero (NaN counts), then 2 of 4 (the vector loop alone).
    const t = tf.tensor1d([0, 1, 0, -2, 0, Number.NaN, 0]);
    assert.equal(simd.sparse(t, 3 / 7), true);
    assert.equal(simd.sparse(t, 2.9 / 7), false, 'NaN counts as non-zero');
    const u = tf.tensor1d([0, 1, 0, -2]);
    assert.equal(simd.sparse(u, 0.5), true);
    assert.equal(simd.sparse(u, 0.49), false);
    tf.dispose([t, u]);
  });

  it('simdKernelOptions.enabled = false turns it off', async () => {
    await initEngine({ backend: 'wasm' });
    simdKernelOptions.enabled = false;
    try {
      assert.equal(simdKernels(tf.backend() as BackendWasm), undefined);
    } finally {
      simdKernelOptions.enabled = true;
    }
  });
});

/**
 * The SIMD kernels module: the committed binary is the assembled .wat (so the two cannot
 * drift apart), it instantiates on the wasm backend's memory, and the switch turns it
 * off. The kernels' numbers are checked against the cpu backend in
 * ../kernels/kernels.test.ts.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';

import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

import { assembleSimdKernels, simdKernelsModuleSource } from '../../../scripts/build-wasm.js';
import { initEngine } from '../backend.js';
import { SIMD_KERNELS_WASM_BASE64 } from './kernels-wasm.js';
import { readFileSync } from 'node:fs';
import { simdKernelOptions, simdKernels, simdKernelsVariant } from './index.js';

describe('SIMD kernels module', () => {
  it('the committed kernels-wasm.ts is kernels.wat assembled (run `npm run build:wasm` after editing the .wat)', async () => {
    const bytes = await assembleSimdKernels();
    const relaxed = await assembleSimdKernels(true);
    assert.equal(Buffer.from(bytes).toString('base64'), SIMD_KERNELS_WASM_BASE64);
    assert.equal(readFileSync(new URL('./kernels-wasm.ts', import.meta.url), 'utf8'), simdKernelsModuleSource(bytes, relaxed));
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

  it('the relaxed-SIMD (FMA) module computes the convolutions of the plain one to 1e-5', async () => {
    await initEngine({ backend: 'wasm' });
    // Node 20 accepts relaxed SIMD once the flag is set (index.ts sets it); newer Node has it on.
    assert.equal(simdKernelsVariant(), 'relaxed');
    const x = tf.randomUniform([2, 8, 8, 8], -1, 1, 'float32', 3) as tf.Tensor4D;
    const w = tf.randomUniform([3, 3, 8, 16], -1, 1, 'float32', 4) as tf.Tensor4D;
    const run = () =>
      tf.tidy(() => {
        const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf
            .conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same')
            .square()
            .sum(),
        )([x, w]);
        return [tf.conv2d(x, w, 1, 'same'), gx!, gw!].map((t) => t.dataSync());
      });
    const relaxed = run();
    simdKernelOptions.relaxed = false;
    try {
      assert.equal(simdKernelsVariant(), 'plain');
      const plain = run();
      plain.forEach((p, i) => {
        const scale = Math.max(1, ...p.map(Math.abs));
        const diff = Math.max(...p.map((v, j) => Math.abs(v - relaxed[i]![j]!)));
        assert.ok(diff / scale <= 1e-5, `output ${i}: relative difference ${diff / scale}`);
      });
    } finally {
      simdKernelOptions.relaxed = true;
      tf.dispose([x, w]);
    }
  });

  it('RAMPART_SIMD=plain keeps a process on the plain module', () => {
    const script = `const m = await import(${JSON.stringify(new URL('./index.ts', import.meta.url).href)}); console.log(m.simdKernelsVariant());`;
    const run = (value: string | undefined) => {
      const env = { ...process.env, RAMPART_SIMD: value };
      if (value === undefined) delete env['RAMPART_SIMD'];
      const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', env });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout.trim();
    };
    assert.equal(run('plain'), 'plain');
    assert.equal(run(undefined), 'relaxed');
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

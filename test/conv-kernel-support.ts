/** Shared by the conv gradient kernel tests: cases, the gradients they compute, and the cpu-vs-wasm check. */
import assert from 'node:assert/strict';

import * as tf from '@tensorflow/tfjs';

import { sizeOf } from '../src/core/types.js';
import { relError, seededValues } from './kernel-support.js';

const TOLERANCE = 1e-4;

export type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];
type Shape4 = [number, number, number, number];

/** Runs `f` on cpu and on wasm (with our kernels) and returns both results. */
export async function onBoth(f: () => Float32Array[]): Promise<{ cpu: Float32Array[]; wasm: Float32Array[] }> {
  await tf.setBackend('cpu');
  const cpu = f();
  await tf.setBackend('wasm');
  const wasm = f();
  return { cpu, wasm };
}

export function assertClose(ref: Float32Array[], got: Float32Array[], label: string): void {
  assert.equal(got.length, ref.length);
  ref.forEach((r, i) => {
    const err = relError(r, got[i]!);
    assert.ok(err <= TOLERANCE, `${label} [output ${i}]: relative error ${err.toExponential(2)} > ${TOLERANCE}`);
  });
}

export interface ConvCase {
  batch: number;
  size: [number, number];
  cin: number;
  cout: number;
  kernel: number;
  stride: number;
  pad: Pad;
}

/** `zeroShare` of the output gradient set to zero, as behind ReLU and max pooling. */
export function convGrads(c: ConvCase, seed: number, zeroShare = 0): () => Float32Array[] {
  const xShape: Shape4 = [c.batch, c.size[0], c.size[1], c.cin];
  const wShape: Shape4 = [c.kernel, c.kernel, c.cin, c.cout];
  const xv = seededValues(sizeOf(xShape), seed);
  const wv = seededValues(sizeOf(wShape), seed + 1);
  return () =>
    tf.tidy(() => {
      const x = tf.tensor4d(xv, xShape);
      const w = tf.tensor4d(wv, wShape);
      const y = tf.conv2d(x, w, c.stride, c.pad);
      const gv = seededValues(sizeOf(y.shape), seed + 2);
      const keep = seededValues(gv.length, seed + 3);
      if (zeroShare > 0) gv.forEach((_, k) => (gv[k] = (keep[k]! + 1) / 2 < zeroShare ? 0 : gv[k]!));
      const g = tf.tensor(gv, y.shape);
      const f = (a: tf.Tensor, b: tf.Tensor) =>
        tf
          .conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad)
          .mul(g)
          .sum();
      const [gx, gw] = tf.grads(f)([x, w]);
      return [gx!.dataSync() as Float32Array, gw!.dataSync() as Float32Array];
    });
}

export function describeConv(c: ConvCase): string {
  return `b${c.batch} ${c.size.join('x')}x${c.cin}->${c.cout} k${c.kernel} s${c.stride} pad ${JSON.stringify(c.pad)}`;
}

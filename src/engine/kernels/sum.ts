/**
 * Fast Sum for the TF.js wasm backend when the reduced axes are not the innermost ones,
 * such as the bias gradient of a conv layer (sum of [batch, h, w, channels] over the
 * first three axes).
 *
 * The stock kernel first transposes the reduced axes to the inside, with a strided write
 * across the whole tensor: ~15-35 ms for the CNN's first conv layer at batch
 * 128 ([128, 26, 26, 32] to [32]), most of the training step's Sum time. Here the input
 * is read as [outer, reduced, inner] and one plain JS pass adds each reduced row into
 * `inner` accumulators, in reading order (~3.5 ms for that case).
 *
 * The accumulators are doubles and each output adds its terms in the order of the
 * reduced index, which is exactly what the cpu backend does (it transposes, then sums in
 * a JS number), so results equal cpu's bit for bit. Innermost-axes reductions (no
 * transpose needed), non-float32 tensors and empty tensors go to the stock kernel.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

import { EngineError } from '../../core/errors.js';
import { type KernelArgs } from './kernel-io.js';

/**
 * Sum over `axis` on the wasm backend when the axes form one contiguous block that is not
 * innermost. Returns `undefined` for any other case, so the caller can use the stock
 * kernel.
 *
 * @example
 * const out = sumWasm({ inputs: { x }, backend, attrs: { axis: [0, 1, 2], keepDims: false } }) ?? stock.kernelFunc(args);
 */
export function sumWasm(args: KernelArgs): tf.TensorInfo | undefined {
  const backend = args.backend as BackendWasm;
  const x = args.inputs['x'];
  if (x === undefined || x.dtype !== 'float32') return undefined;
  const { axis, keepDims } = args.attrs as unknown as tf.SumAttrs;
  const shape = x.shape;
  let axes: number[];
  try {
    axes = [...new Set(tf.util.parseAxisParam(axis, shape))].sort((p, q) => p - q);
  } catch {
    return undefined;
  }
  if (axes.length === 0) return undefined;
  const first = axes[0]!;
  const last = axes[axes.length - 1]!;
  if (last - first + 1 !== axes.length || last === shape.length - 1) return undefined;
  const outer = shape.slice(0, first).reduce((p, d) => p * d, 1);
  const reduced = shape.slice(first, last + 1).reduce((p, d) => p * d, 1);
  const inner = shape.slice(last + 1).reduce((p, d) => p * d, 1);
  if (outer * reduced * inner === 0) return undefined;

  const outShape = keepDims ? shape.map((d, i) => (i >= first && i <= last ? 1 : d)) : shape.filter((_, i) => i < first || i > last);
  const out = backend.makeOutput(outShape, 'float32');
  sumMiddle(backend.typedArrayFromHeap(x) as Float32Array, backend.typedArrayFromHeap(out) as Float32Array, outer, reduced, inner);
  return out;
}

/**
 * out[o, i] = sum over r of x[o, r, i], in order of r, in doubles. Four rows per pass
 * keep each accumulator in a register (2-3x faster than one row per pass); the additions
 * still happen one term at a time in order of r, so the result does not change. Kept
 * apart so V8 optimises the hot loop alone.
 */
function sumMiddle(xv: Float32Array, ov: Float32Array, outer: number, reduced: number, inner: number): void {
  const acc = new Float64Array(inner);
  for (let o = 0; o < outer; o++) {
    acc.fill(0);
    const base = o * reduced * inner;
    let r = 0;
    for (; r + 4 <= reduced; r += 4) {
      const s0 = base + r * inner;
      const s1 = s0 + inner;
      const s2 = s1 + inner;
      const s3 = s2 + inner;
      // Left to right: (((acc + x0) + x1) + x2) + x3, the same as four single additions.
      for (let i = 0; i < inner; i++) acc[i] = acc[i]! + xv[s0 + i]! + xv[s1 + i]! + xv[s2 + i]! + xv[s3 + i]!;
    }
    for (; r < reduced; r++) {
      const s = base + r * inner;
      for (let i = 0; i < inner; i++) acc[i] = acc[i]! + xv[s + i]!;
    }
    ov.set(acc, o * inner);
  }
}

/**
 * The kernel config to register over the stock Sum, falling back to it for the cases
 * above and carrying over its `setupFunc`.
 *
 * @throws EngineError `E_KERNEL_UNSUPPORTED` (when run) for such a case without a stock kernel.
 * @example
 * tf.registerKernel(createSumKernel(tf.getKernel('Sum', 'wasm')));
 */
export function createSumKernel(stock?: tf.KernelConfig): tf.KernelConfig {
  const kernelFunc: tf.KernelFunc = (args) => {
    const out = sumWasm(args);
    if (out !== undefined) return out;
    if (stock !== undefined) return stock.kernelFunc(args);
    throw new EngineError(
      'E_KERNEL_UNSUPPORTED',
      `${tf.Sum} on the wasm backend: this case needs the stock kernel, which is not registered.`,
      {
        details: { kernel: tf.Sum, attrs: args.attrs },
      },
    );
  };
  const config: tf.KernelConfig = { kernelName: tf.Sum, backendName: 'wasm', kernelFunc };
  if (stock?.setupFunc !== undefined) config.setupFunc = stock.setupFunc;
  return config;
}

/**
 * Tile for the TF.js wasm backend. The stock kernel walks the output one element at a time
 * through index arithmetic and is very slow: the batch-norm gradient tiles a per-channel
 * vector up to the activation's full shape (one Tile per BN layer), and on ResNet-20 at
 * batch 64 those took ~40% of a PGD step (1.5 s).
 *
 * Method: the input is copied to the front of the output, then tiled one axis at a time
 * from the innermost outwards, in place: for each index of the leading axes (last first,
 * so nothing unread is overwritten) its block moves to its tiled position (`copyWithin`,
 * which handles the overlap) and is repeated by doubling. Copies of contiguous runs, no
 * per-element index arithmetic; small blocks use a plain loop instead of `copyWithin`.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

import { EngineError } from '../../core/errors.js';
import { type KernelArgs, input } from './kernel-io.js';

type Numbers = Float32Array | Int32Array | Uint8Array;

/** Below this many elements a block is repeated by a loop; `copyWithin` has a fixed cost per call. */
const LOOP_BELOW = 16;

function repeat(a: Numbers, base: number, block: number, reps: number): void {
  const end = base + block * reps;
  if (block < LOOP_BELOW) {
    for (let i = base + block; i < end; i++) a[i] = a[i - block]!;
    return;
  }
  let filled = block;
  while (base + filled < end) {
    const n = Math.min(filled, end - base - filled);
    a.copyWithin(base + filled, base, base + n);
    filled += n;
  }
}

/**
 * Writes `src` (shape `shape`) tiled `reps` times along each axis into `dst`, which holds
 * exactly the tiled size.
 */
export function tileInto(src: Numbers, shape: readonly number[], reps: readonly number[], dst: Numbers): void {
  dst.set(
    src.subarray(
      0,
      shape.reduce((a, b) => a * b, 1),
    ),
  );
  let inner = 1; // size of one index of axis a+1 onwards, already tiled
  for (let a = shape.length - 1; a >= 0; a--) {
    const d = shape[a]!;
    const r = reps[a]!;
    const block = d * inner;
    if (r !== 1 && block > 0) {
      let prefixes = 1;
      for (let i = 0; i < a; i++) prefixes *= shape[i]!;
      for (let p = prefixes - 1; p >= 0; p--) {
        const to = p * block * r;
        if (p > 0) dst.copyWithin(to, p * block, (p + 1) * block);
        repeat(dst, to, block, r);
      }
    }
    inner = block * r;
  }
}

/**
 * Tile on the wasm backend: numeric dtypes; `undefined` for others (the stock kernel runs).
 *
 * @throws EngineError `E_KERNEL_SHAPE` when `reps` does not have one entry per axis of `x`.
 */
export function tileWasm(args: KernelArgs): tf.TensorInfo | undefined {
  const backend = args.backend as BackendWasm;
  const x = input(args.inputs, 'x', tf.Tile);
  const { reps } = args.attrs as unknown as tf.TileAttrs;
  if (x.dtype === 'string' || x.dtype === 'complex64') return undefined;
  if (reps.length !== x.shape.length) {
    throw new EngineError('E_KERNEL_SHAPE', `${tf.Tile}: reps [${reps}] needs one entry per axis of x's shape [${x.shape}].`, {
      details: { kernel: tf.Tile, reps, shape: x.shape },
    });
  }
  const out = backend.makeOutput(
    x.shape.map((d, i) => d * reps[i]!),
    x.dtype,
  );
  if (out.shape.some((d) => d === 0)) return out;
  // Views are taken after the allocation, which may have grown (and detached) the heap.
  tileInto(backend.typedArrayFromHeap(x) as Numbers, x.shape, reps, backend.typedArrayFromHeap(out) as Numbers);
  return out;
}

/** The Tile kernel config for 'wasm', falling back to `stock` for dtypes it does not take. */
export function createTileKernel(stock?: tf.KernelConfig): tf.KernelConfig {
  const kernelFunc: tf.KernelFunc = (args) => {
    const out = tileWasm(args);
    if (out !== undefined) return out;
    if (stock !== undefined) return stock.kernelFunc(args);
    throw new EngineError(
      'E_KERNEL_UNSUPPORTED',
      `${tf.Tile} on the wasm backend: dtype needs the stock kernel, which is not registered.`,
      {
        details: { kernel: tf.Tile },
      },
    );
  };
  const config: tf.KernelConfig = { kernelName: tf.Tile, backendName: 'wasm', kernelFunc };
  if (stock?.setupFunc !== undefined) config.setupFunc = stock.setupFunc;
  return config;
}

/**
 * Fast BatchMatMul and _FusedMatMul for the TF.js wasm backend.
 *
 * The stock wasm matmul has two routes (tfjs-backend-wasm src/cc/batch_mat_mul_impl.cc):
 * XNNPACK's fully-connected operator when neither operand is transposed and both batch
 * sizes are 1, and otherwise a blocked scalar loop about ten times slower. A dense
 * layer's backward pass asks for dy·Wᵀ and xᵀ·dy, so it always took the slow loop (~45
 * and ~54 ms for the CNN's 1600x128 layer at batch 128, against ~5 ms on XNNPACK).
 *
 * Method: a transposed operand is materialised with the wasm `Transpose` kernel, then the
 * stock kernel runs without transposes:
 * - right operand with batch size 1 (every dense layer): the left operand's batch folds
 *   into its rows, one XNNPACK product;
 * - batched right operand: one XNNPACK product per batch slice, each slice copied into
 *   its own tensor; slices smaller than `batchMatMulOptions.minSliceMacs` stay on the
 *   stock loop, which then beats the per-slice set-up.
 *
 * XNNPACK caches its operator, packed weights included, under the right operand's wasm
 * tensor id and frees it when that tensor is disposed. Every right operand made here is
 * therefore a fresh tensor (new ids are never reused), disposed straight after its
 * product, so no product can run on weights packed from stale data.
 *
 * The stock fused kernel's scalar loop also adds the bias wrongly (it indexes the bias by
 * row * cols + col, clamped to the last element, so every row after the first gets the
 * last bias value). Fused products that cannot take the XNNPACK route (batched right
 * operand, bias other than one value per output column, prelu) are computed here as the
 * plain product followed by the bias and the activation as separate wasm kernels, which is
 * what the cpu backend does.
 *
 * Non-float32 tensors, empty products and batch shapes that do not broadcast go to the
 * stock kernel.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

import { EngineError } from '../../core/errors.js';
import { type KernelArgs, heap, transposed, wasmKernel } from './kernel-io.js';

/** Tuning of the batched route, exported so tests can force either side. */
export const batchMatMulOptions = {
  /**
   * Multiply-adds per batch slice (rows x inner x cols) from which a batched product runs
   * slice by slice on XNNPACK; below it the stock loop is faster than the per-slice
   * operator set-up (~15 µs a slice; crossover measured near 10k).
   */
  minSliceMacs: 16384,
  /** Transposed right operands kept for reuse (see `cachedTranspose`); 0 turns it off. */
  transposeCacheSize: 16,
};

function single(result: tf.TensorInfo | tf.TensorInfo[]): tf.TensorInfo {
  return Array.isArray(result) ? result[0]! : result;
}

function view(t: tf.TensorInfo, shape: number[]): tf.TensorInfo {
  return { dataId: t.dataId, shape, dtype: t.dtype };
}

function size(shape: readonly number[]): number {
  return shape.reduce((p, d) => p * d, 1);
}

/** The product's sizes in the stock kernel's terms: [batchA, m, k] x [batchB, k, n]. */
interface Dims {
  batchA: number;
  batchB: number;
  m: number;
  k: number;
  n: number;
  outShape: number[];
}

function productDims(a: tf.TensorInfo, b: tf.TensorInfo, transposeA: boolean, transposeB: boolean): Dims | undefined {
  const ra = a.shape.length;
  const rb = b.shape.length;
  if (ra < 2 || rb < 2 || a.dtype !== 'float32' || b.dtype !== 'float32') return undefined;
  const m = a.shape[transposeA ? ra - 1 : ra - 2]!;
  const k = a.shape[transposeA ? ra - 2 : ra - 1]!;
  const kb = b.shape[transposeB ? rb - 1 : rb - 2]!;
  const n = b.shape[transposeB ? rb - 2 : rb - 1]!;
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const batchA = size(outerA);
  const batchB = size(outerB);
  // Mismatched inner sizes and batches that do not broadcast get the stock kernel's error
  // or result.
  if (k !== kb || (batchA !== batchB && batchA !== 1 && batchB !== 1)) return undefined;
  if (m * n * k * batchA * batchB === 0) return undefined;
  let outer: number[];
  try {
    outer = tf.backend_util.assertAndGetBroadcastShape(outerA, outerB);
  } catch {
    return undefined;
  }
  // Batches are paired by flat index, as every backend does; shapes such as [1, 2] with
  // [2, 1] broadcast to more batches than either has, which that pairing cannot express.
  if (size(outer) !== Math.max(batchA, batchB)) return undefined;
  return { batchA, batchB, m, k, n, outShape: [...outer, m, n] };
}

/** A contiguous [batch, rows, cols] operand, and whether it was made here (to dispose). */
interface Operand {
  info: tf.TensorInfo;
  owned: boolean;
}

/**
 * `t` as a contiguous [batch, rows, cols] tensor: a view of `t` itself, or, when `t` holds
 * the transpose, a fresh tensor from the wasm Transpose kernel.
 */
function operand(backend: BackendWasm, t: tf.TensorInfo, batch: number, rows: number, cols: number, holdsTranspose: boolean): Operand {
  if (!holdsTranspose) return { info: view(t, [batch, rows, cols]), owned: false };
  const info = transposed(
    backend,
    view(t, batch === 1 ? [cols, rows] : [batch, cols, rows]),
    batch === 1 ? [1, 0] : [0, 2, 1],
    tf.BatchMatMul,
  );
  return { info: view(info, [batch, rows, cols]), owned: true };
}

/**
 * Transposed right operands kept for reuse, by the source tensor's data id. During an
 * attack the same weights meet dy·Wᵀ at every step; reusing the transpose also keeps its
 * wasm tensor id, so XNNPACK keeps the weights it packed for it (packing cost as much as
 * the product). TF.js never changes the data behind a data id (a variable's `assign`
 * takes a new one), so an entry is valid for as long as its source exists; entries
 * whose source has been disposed are freed on the next product, and the map holds at
 * most `batchMatMulOptions.transposeCacheSize` entries.
 */
const transposedRight = new Map<object, tf.TensorInfo>();

function cachedTranspose(backend: BackendWasm, b: tf.TensorInfo, rows: number, cols: number): tf.TensorInfo {
  for (const [source, copy] of transposedRight) {
    if (!backend.dataIdMap.has(source as tf.DataId)) {
      backend.disposeData(copy.dataId);
      transposedRight.delete(source);
    }
  }
  const hit = transposedRight.get(b.dataId);
  if (hit !== undefined && hit.shape[0] === rows && hit.shape[1] === cols) return hit;
  if (hit !== undefined) {
    backend.disposeData(hit.dataId);
    transposedRight.delete(b.dataId);
  }
  const info = view(operand(backend, b, 1, rows, cols, true).info, [rows, cols]);
  transposedRight.set(b.dataId, info);
  while (transposedRight.size > batchMatMulOptions.transposeCacheSize) {
    const [oldest, copy] = transposedRight.entries().next().value as [object, tf.TensorInfo];
    backend.disposeData(copy.dataId);
    transposedRight.delete(oldest);
  }
  return info;
}

/** Frees every cached transpose (tests use it to check that nothing else is left). */
export function clearTransposeCache(backend: BackendWasm): void {
  for (const copy of transposedRight.values()) backend.disposeData(copy.dataId);
  transposedRight.clear();
}

/** A fresh [rows, cols] tensor holding slice `index` of a contiguous [batch, rows, cols] one. */
function sliceCopy(backend: BackendWasm, t: tf.TensorInfo, index: number, rows: number, cols: number): tf.TensorInfo {
  const out = backend.makeOutput([rows, cols], 'float32');
  const len = rows * cols;
  heap(backend, out).set(heap(backend, t).subarray(index * len, (index + 1) * len));
  return out;
}

/**
 * The plain product a·b (each optionally transposed) on XNNPACK, or `undefined` when the
 * stock kernel should run with the original arguments: it already takes XNNPACK, the
 * slices are too small, or the case is not handled here.
 */
function product(
  backend: BackendWasm,
  stock: tf.KernelFunc,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
): tf.TensorInfo | undefined {
  const d = productDims(a, b, transposeA, transposeB);
  if (d === undefined) return undefined;
  const { batchA, batchB, m, k, n, outShape } = d;
  if (batchB === 1 && batchA === 1 && !transposeA && !transposeB) return undefined;
  if (batchB > 1 && m * k * n < batchMatMulOptions.minSliceMacs) return undefined;
  const noTranspose = { transposeA: false, transposeB: false };

  const left = operand(backend, a, batchA, m, k, transposeA);
  const right: Operand =
    transposeB && batchB === 1 && batchMatMulOptions.transposeCacheSize > 0
      ? { info: view(cachedTranspose(backend, b, k, n), [1, k, n]), owned: false }
      : operand(backend, b, batchB, k, n, transposeB);
  let out: tf.TensorInfo;
  try {
    if (batchB === 1) {
      // One product with the left batch folded into rows; the right operand is either the
      // caller's tensor untouched (its cached operator stays valid) or a fresh transpose.
      out = single(stock({ inputs: { a: view(left.info, [batchA * m, k]), b: view(right.info, [k, n]) }, backend, attrs: noTranspose }));
    } else {
      out = backend.makeOutput(outShape, 'float32');
      const sliceOut = m * n;
      for (let i = 0; i < batchB; i++) {
        const ai = batchA === 1 ? view(left.info, [m, k]) : sliceCopy(backend, left.info, i, m, k);
        // A fresh right operand per slice: XNNPACK packs it once and frees the operator
        // when it is disposed below.
        const bi = sliceCopy(backend, right.info, i, k, n);
        const oi = single(stock({ inputs: { a: ai, b: bi }, backend, attrs: noTranspose }));
        heap(backend, out).set(heap(backend, oi), i * sliceOut);
        backend.disposeData(oi.dataId);
        backend.disposeData(bi.dataId);
        if (ai.dataId !== left.info.dataId) backend.disposeData(ai.dataId);
      }
    }
  } finally {
    if (left.owned) backend.disposeData(left.info.dataId);
    if (right.owned) backend.disposeData(right.info.dataId);
  }
  out.shape = outShape;
  return out;
}

/**
 * a·b on the wasm backend without the stock kernel's slow loop for transposed operands.
 * Returns `undefined` when the stock kernel `stock` should run with the original
 * arguments (see the module comment); `stock` also computes each untransposed product.
 *
 * @throws EngineError `E_KERNEL_MISSING` when the wasm Transpose kernel is not registered.
 * @example
 * const out = batchMatMulWasm(args, stock.kernelFunc) ?? stock.kernelFunc(args);
 */
export function batchMatMulWasm(args: KernelArgs, stock: tf.KernelFunc): tf.TensorInfo | undefined {
  const { a, b } = args.inputs;
  if (a === undefined || b === undefined) return undefined;
  const { transposeA, transposeB } = args.attrs as unknown as tf.BatchMatMulAttrs;
  return product(args.backend as BackendWasm, stock, a, b, transposeA, transposeB);
}

/** The fused activations, as the cpu backend applies them after the bias. */
function activate(backend: BackendWasm, x: tf.TensorInfo, attrs: tf._FusedMatMulAttrs, prelu: tf.TensorInfo | undefined): tf.TensorInfo {
  const run = (name: string, inputs: tf.NamedTensorInfoMap, kernelAttrs: tf.NamedAttrMap = {}) =>
    single(wasmKernel(name, tf._FusedMatMul).kernelFunc({ inputs, backend, attrs: kernelAttrs }));
  switch (attrs.activation) {
    case 'linear':
    case undefined:
      return x;
    case 'relu':
      return run(tf.Relu, { x });
    case 'relu6':
      return run(tf.Relu6, { x });
    case 'elu':
      return run(tf.Elu, { x });
    case 'sigmoid':
      return run(tf.Sigmoid, { x });
    case 'leakyrelu':
      return run(tf.LeakyRelu, { x }, { alpha: attrs.leakyreluAlpha ?? 0.2 });
    case 'prelu':
      if (prelu === undefined) {
        throw new EngineError('E_KERNEL_INPUT', `${tf._FusedMatMul}: activation 'prelu' needs the input 'preluActivationWeights'.`, {
          details: { kernel: tf._FusedMatMul, input: 'preluActivationWeights' },
        });
      }
      return run(tf.Prelu, { x, alpha: prelu });
    default:
      throw new EngineError('E_KERNEL_UNSUPPORTED', `${tf._FusedMatMul}: activation '${String(attrs.activation)}' is not supported.`, {
        details: { kernel: tf._FusedMatMul, activation: attrs.activation },
      });
  }
}

/**
 * act(a·b + bias) on the wasm backend, like `batchMatMulWasm` for the fused kernel.
 * Returns `undefined` when the stock kernel `stock` should run with the original
 * arguments (a product it already runs on XNNPACK, or a case not handled here).
 *
 * @throws EngineError `E_KERNEL_MISSING` when a wasm kernel it builds on is not
 *   registered, `E_KERNEL_INPUT` for activation 'prelu' without its weights.
 * @example
 * const out = fusedMatMulWasm(args, stock.kernelFunc) ?? stock.kernelFunc(args);
 */
export function fusedMatMulWasm(args: KernelArgs, stock: tf.KernelFunc): tf.TensorInfo | undefined {
  const backend = args.backend as BackendWasm;
  const { a, b } = args.inputs;
  // The engine passes absent optional inputs as null or undefined.
  const bias = args.inputs['bias'] ?? undefined;
  const prelu = args.inputs['preluActivationWeights'] ?? undefined;
  const attrs = args.attrs as unknown as tf._FusedMatMulAttrs;
  const { transposeA, transposeB } = attrs;
  if (a === undefined || b === undefined) return undefined;
  const d = productDims(a, b, transposeA, transposeB);
  if (d === undefined || (bias !== undefined && bias.dtype !== 'float32')) return undefined;
  const { batchA, batchB, m, k, n, outShape } = d;

  // XNNPACK applies a bias of one value per output column and clamps relu/relu6 itself.
  const xnnEpilogue = (bias === undefined || (bias.shape.length === 1 && bias.shape[0] === n)) && attrs.activation !== 'prelu';
  if (xnnEpilogue && batchB === 1) {
    if (batchA === 1 && !transposeA && !transposeB) return undefined;
    const left = operand(backend, a, batchA, m, k, transposeA);
    const right = operand(backend, b, 1, k, n, transposeB);
    try {
      const inputs: tf.NamedTensorInfoMap = { a: view(left.info, [1, batchA * m, k]), b: view(right.info, [1, k, n]) };
      if (bias !== undefined) inputs['bias'] = bias;
      const out = single(stock({ inputs, backend, attrs: { ...args.attrs, transposeA: false, transposeB: false } }));
      out.shape = outShape;
      return out;
    } finally {
      if (left.owned) backend.disposeData(left.info.dataId);
      if (right.owned) backend.disposeData(right.info.dataId);
    }
  }

  // Plain product, then bias and activation as separate kernels.
  const matMul = wasmKernel(tf.BatchMatMul, tf._FusedMatMul).kernelFunc;
  let out =
    product(backend, matMul, a, b, transposeA, transposeB) ??
    single(matMul({ inputs: { a, b }, backend, attrs: { transposeA, transposeB } }));
  if (bias !== undefined) {
    const added = single(wasmKernel(tf.Add, tf._FusedMatMul).kernelFunc({ inputs: { a: out, b: bias }, backend, attrs: {} }));
    backend.disposeData(out.dataId);
    out = added;
  }
  const activated = activate(backend, out, attrs, prelu);
  if (activated.dataId !== out.dataId) backend.disposeData(out.dataId);
  return activated;
}

function withStock(
  kernelName: string,
  stock: tf.KernelConfig | undefined,
  fast: (args: KernelArgs, stock: tf.KernelFunc) => tf.TensorInfo | undefined,
): tf.KernelConfig {
  const kernelFunc: tf.KernelFunc = (args) => {
    if (stock === undefined) {
      throw new EngineError('E_KERNEL_MISSING', `${kernelName} on the wasm backend builds on the stock kernel, which is not registered.`, {
        details: { kernel: kernelName },
      });
    }
    return fast(args, stock.kernelFunc) ?? stock.kernelFunc(args);
  };
  const config: tf.KernelConfig = { kernelName, backendName: 'wasm', kernelFunc };
  if (stock?.setupFunc !== undefined) config.setupFunc = stock.setupFunc;
  return config;
}

/**
 * The BatchMatMul kernel config to register over the stock one, which it builds on (and
 * whose `setupFunc` it carries over).
 *
 * @throws EngineError `E_KERNEL_MISSING` (when run) if there was no stock kernel.
 * @example
 * tf.registerKernel(createBatchMatMulKernel(tf.getKernel('BatchMatMul', 'wasm')));
 */
export function createBatchMatMulKernel(stock?: tf.KernelConfig): tf.KernelConfig {
  return withStock(tf.BatchMatMul, stock, batchMatMulWasm);
}

/**
 * The _FusedMatMul kernel config to register over the stock one, which it builds on (and
 * whose `setupFunc` it carries over).
 *
 * @throws EngineError `E_KERNEL_MISSING` (when run) if there was no stock kernel.
 * @example
 * tf.registerKernel(createFusedMatMulKernel(tf.getKernel('_FusedMatMul', 'wasm')));
 */
export function createFusedMatMulKernel(stock?: tf.KernelConfig): tf.KernelConfig {
  return withStock(tf._FusedMatMul, stock, fusedMatMulWasm);
}

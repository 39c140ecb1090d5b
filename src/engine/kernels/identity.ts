/**
 * Identity and same-dtype Cast for the TF.js wasm backend without a copy.
 *
 * Under a gradient tape the TF.js engine clones every tensor a kernel saves for its
 * gradient (`saveTensorsForBackwardMode` → `clone` → Identity), and the relu gradient
 * casts a float32 mask to float32. The cpu backend answers both by sharing the input's
 * data and raising its reference count; the stock wasm kernels copy it instead, ~30
 * copies per CNN step at batch 128 (~8 ms of a PGD step, ~12 ms of a training step).
 *
 * Sharing is safe because no wasm kernel writes into an existing tensor's memory (every
 * kernel writes into a fresh `makeOutput`, and a variable's `assign` swaps data ids); the
 * wasm backend's own Reshape shares data the same way. XNNPACK operators cached under a
 * shared tensor id stay valid, since that data never changes.
 *
 * A cast to bool is done here too: the stock kernel narrows through a Uint8Array, so
 * -2.7 becomes 254 instead of true (1); cpu casts with x !== 0. String tensors and other
 * dtype changes go to the stock kernels.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

import { EngineError } from '../../core/errors.js';
import { type KernelArgs } from './kernel-io.js';

function share(backend: BackendWasm, x: tf.TensorInfo): tf.TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
}

/**
 * Identity on the wasm backend: the input's data, shared. Returns `undefined` for string
 * tensors, so the caller can use the stock kernel.
 *
 * @example
 * const out = identityWasm({ inputs: { x }, backend, attrs: {} }) ?? stock.kernelFunc(args);
 */
export function identityWasm(args: KernelArgs): tf.TensorInfo | undefined {
  const x = args.inputs['x'];
  if (x === undefined || x.dtype === 'string') return undefined;
  return share(args.backend as BackendWasm, x);
}

/**
 * Cast on the wasm backend when the dtype does not change (the input's data, shared) or
 * when it becomes bool (x !== 0, as on cpu). Returns `undefined` for other conversions,
 * so the caller can use the stock kernel.
 *
 * @example
 * const out = castWasm({ inputs: { x }, backend, attrs: { dtype: 'float32' } }) ?? stock.kernelFunc(args);
 */
export function castWasm(args: KernelArgs): tf.TensorInfo | undefined {
  const backend = args.backend as BackendWasm;
  const x = args.inputs['x'];
  const { dtype } = args.attrs as unknown as tf.CastAttrs;
  if (x === undefined || x.dtype === 'string' || x.dtype === 'complex64') return undefined;
  if (x.dtype === dtype) return share(backend, x);
  if (dtype !== 'bool') return undefined;
  const out = backend.makeOutput([...x.shape], 'bool');
  const xv = backend.typedArrayFromHeap(x);
  const ov = backend.typedArrayFromHeap(out);
  for (let i = 0; i < xv.length; i++) ov[i] = xv[i] !== 0 ? 1 : 0;
  return out;
}

function create(kernelName: string, fast: (args: KernelArgs) => tf.TensorInfo | undefined, stock?: tf.KernelConfig): tf.KernelConfig {
  const kernelFunc: tf.KernelFunc = (args) => {
    const out = fast(args);
    if (out !== undefined) return out;
    if (stock !== undefined) return stock.kernelFunc(args);
    throw new EngineError(
      'E_KERNEL_UNSUPPORTED',
      `${kernelName} on the wasm backend: this case needs the stock kernel, which is not registered.`,
      {
        details: { kernel: kernelName, attrs: args.attrs },
      },
    );
  };
  const config: tf.KernelConfig = { kernelName, backendName: 'wasm', kernelFunc };
  if (stock?.setupFunc !== undefined) config.setupFunc = stock.setupFunc;
  return config;
}

/**
 * The Identity kernel config to register over the stock one (its fallback for strings).
 *
 * @throws EngineError `E_KERNEL_UNSUPPORTED` (when run) for a string tensor without a stock kernel.
 * @example
 * tf.registerKernel(createIdentityKernel(tf.getKernel('Identity', 'wasm')));
 */
export function createIdentityKernel(stock?: tf.KernelConfig): tf.KernelConfig {
  return create(tf.Identity, identityWasm, stock);
}

/**
 * The Cast kernel config to register over the stock one (its fallback for conversions).
 *
 * @throws EngineError `E_KERNEL_UNSUPPORTED` (when run) for a conversion without a stock kernel.
 * @example
 * tf.registerKernel(createCastKernel(tf.getKernel('Cast', 'wasm')));
 */
export function createCastKernel(stock?: tf.KernelConfig): tf.KernelConfig {
  return create(tf.Cast, castWasm, stock);
}

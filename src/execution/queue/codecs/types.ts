/** The contract of a queue model codec (see ../models.ts), apart so codecs and the registry do not import each other. */
import type { ExecutionModel } from '../../executor.js';
import type { AnyShardTarget } from '../../handlers/registry.js';

export interface ModelCodec {
  /** Stable kind, e.g. 'tfjs-layers' or 'onnx'. */
  readonly kind: string;
  /** The bytes a worker rebuilds `classifier` from, or undefined when this codec cannot ship it. */
  encode(model: ExecutionModel): Promise<Uint8Array | undefined>;
  /** Rebuilds the target from `bytes`; `dispose` frees it when the worker's cache drops it. */
  decode(bytes: Uint8Array): Promise<{ target: AnyShardTarget; dispose: () => void }>;
}

/**
 * The pool's master copies of its models: topology, weight specs and the latest weights
 * of every loaded model, kept on the main thread so that a replaced worker can be
 * reloaded (`replay`) and so that weight updates are checked before they are broadcast.
 * An imported ONNX model is kept as its file's bytes: each worker imports it again.
 */
import type * as tf from '@tensorflow/tfjs';
import { UsageError } from '../../core/errors.js';
import type { Bounds } from '../../core/types.js';
import { sizeOf } from '../../core/types.js';
import { TfjsClassifier } from '../../models/tfjs-classifier.js';
import type { ModelInfo } from '../handlers/registry.js';
import type { Classifier } from '../../models/classifier.js';
import type { OnnxSource } from '../../models/onnx/index.js';
import type { LoadLayersRequest, LoadRequest } from './protocol.js';

/** A model loaded into every worker. Plain data; keep it to address the model. */
export interface PoolModelHandle {
  readonly id: number;
  readonly modelId: string;
  readonly inputShape: readonly number[];
  readonly numClasses: number;
  readonly bounds: Bounds;
  /** The main-thread variable names of `model.trainableWeights`, in order: the keys `optimizer.applyGradients` needs. */
  readonly trainableNames: readonly string[];
  readonly trainableShapes: readonly (readonly number[])[];
}

interface OnnxMaster {
  kind: 'onnx';
  handle: PoolModelHandle;
  source: OnnxSource;
}

type Master = MasterModel | OnnxMaster;

interface MasterModel {
  kind: 'layers';
  handle: PoolModelHandle;
  topology: object;
  weightSpecs: tf.io.WeightsManifestEntry[];
  /** Latest weights in `model.weights` order; never mutated in place (replaced on setWeights). */
  weights: Float32Array[];
}

export class ModelCopies {
  private readonly models = new Map<number, Master>();
  private nextHandle = 1;

  /** Records a master copy of `model` and returns its handle. */
  async add(model: tf.LayersModel, bounds: Bounds | undefined, id: string | undefined): Promise<PoolModelHandle> {
    const classifier = new TfjsClassifier(model, { ...(bounds ? { bounds } : {}), ...(id ? { id } : {}) });
    const weights = await readWeights(
      model.weights.map((w) => w.read()),
      model.weights.map((w) => w.originalName),
    );
    const handle: PoolModelHandle = Object.freeze({
      id: this.nextHandle++,
      modelId: classifier.id,
      inputShape: classifier.inputShape,
      numClasses: classifier.numClasses,
      bounds: classifier.bounds,
      trainableNames: model.trainableWeights.map((w) => (w.read() as tf.Variable).name),
      trainableShapes: model.trainableWeights.map((w) => [...w.shape] as number[]),
    });
    const master: MasterModel = {
      kind: 'layers',
      handle,
      topology: model.toJSON(null, false) as object,
      weightSpecs: model.weights.map((w) => ({ name: w.originalName, shape: [...w.shape] as number[], dtype: 'float32' as const })),
      weights,
    };
    this.models.set(handle.id, master);
    return handle;
  }

  /** Records an imported ONNX model (its file's bytes) and returns its handle; it has no trainable weights here. */
  addOnnx(model: Classifier, source: OnnxSource): PoolModelHandle {
    const handle: PoolModelHandle = Object.freeze({
      id: this.nextHandle++,
      modelId: model.id,
      inputShape: model.inputShape,
      numClasses: model.numClasses,
      bounds: model.bounds,
      trainableNames: [],
      trainableShapes: [],
    });
    this.models.set(handle.id, { kind: 'onnx', handle, source });
    return handle;
  }

  /** A fresh request that loads `handle`'s model into one worker (its buffer is transferred). */
  load(handle: PoolModelHandle): [LoadRequest, ArrayBuffer[]] {
    return loadRequest(this.master(handle));
  }

  /**
   * The master copy of `handle`.
   *
   * @throws UsageError `E_POOL_MODEL` for a handle this pool did not give out (or has unloaded).
   */
  info(handle: PoolModelHandle): ModelInfo {
    const { handle: h } = this.master(handle);
    return { id: h.modelId, inputShape: h.inputShape, numClasses: h.numClasses };
  }

  /**
   * Checks and stores new weights: in `model.weights` order, or a LayersModel of the same topology.
   *
   * @throws UsageError `E_POOL_WEIGHTS` when the count or sizes do not match.
   */
  async replaceWeights(handle: PoolModelHandle, weights: tf.LayersModel | readonly (tf.Tensor | Float32Array)[]): Promise<Float32Array[]> {
    const master = this.master(handle);
    if (master.kind === 'onnx') {
      throw new UsageError('E_POOL_WEIGHTS', `Model '${handle.modelId}' is an imported ONNX model; the pool cannot replace its weights.`, {
        details: { handle: handle.id },
      });
    }
    const list = Array.isArray(weights)
      ? (weights as readonly (tf.Tensor | Float32Array)[])
      : (weights as tf.LayersModel).weights.map((w) => w.read());
    const next = await readWeights(
      list,
      master.weightSpecs.map((s) => s.name),
    );
    if (next.length !== master.weights.length) {
      throw new UsageError(
        'E_POOL_WEIGHTS',
        `Got ${next.length} weights for model '${handle.modelId}', which has ${master.weights.length}; pass them in model.weights order.`,
        {
          details: { expected: master.weights.length, actual: next.length },
        },
      );
    }
    next.forEach((values, i) => {
      const spec = master.weightSpecs[i];
      if (spec && values.length !== sizeOf(spec.shape)) {
        throw new UsageError(
          'E_POOL_WEIGHTS',
          `Weight ${i} ('${spec.name}') needs ${sizeOf(spec.shape)} values for shape [${spec.shape.join(', ')}]; got ${values.length}.`,
          {
            details: { index: i, expected: sizeOf(spec.shape), actual: values.length },
          },
        );
      }
    });
    master.weights = next;
    return next;
  }

  /** @throws UsageError `E_POOL_MODEL` for an unknown handle. */
  delete(handle: PoolModelHandle): void {
    this.master(handle);
    this.models.delete(handle.id);
  }

  /** Forgets `id` without checks (a load that failed half-way). */
  forget(id: number): void {
    this.models.delete(id);
  }

  /** Fresh load requests for every model, in load order: what a new worker replays. */
  replay(): Array<[LoadRequest, ArrayBuffer[]]> {
    return [...this.models.values()].map(loadRequest);
  }

  clear(): void {
    this.models.clear();
  }

  private master(handle: PoolModelHandle): Master {
    const master = this.models.get(handle.id);
    if (!master || master.handle !== handle) {
      throw new UsageError(
        'E_POOL_MODEL',
        `Model handle ${handle.id} ('${handle.modelId}') is not loaded in this pool; use the handle pool.loadModel returned.`,
        {
          details: { handle: handle.id },
        },
      );
    }
    return master;
  }
}

/** The request that loads `master` into a worker; its buffer is fresh, so it can be transferred. */
function loadRequest(master: Master): [LoadRequest, ArrayBuffer[]] {
  if (master.kind === 'onnx') {
    const { source, handle } = master;
    // A copy into its own buffer (a Node Buffer's slice would share, and the transfer would detach, the original).
    const bytes = new Uint8Array(source.bytes).buffer;
    const request: LoadRequest = {
      op: 'load',
      format: 'onnx',
      handle: handle.id,
      bytes,
      path: source.path,
      modelId: handle.modelId,
      ...(source.preprocess ? { preprocess: source.preprocess } : {}),
    };
    return [request, [bytes]];
  }
  return layersRequest(master);
}

function layersRequest(master: MasterModel): [LoadLayersRequest, ArrayBuffer[]] {
  const total = master.weights.reduce((s, w) => s + w.length, 0);
  const data = new Float32Array(total);
  let offset = 0;
  for (const w of master.weights) {
    data.set(w, offset);
    offset += w.length;
  }
  const { handle } = master;
  return [
    {
      op: 'load',
      handle: handle.id,
      topology: master.topology,
      weightSpecs: master.weightSpecs,
      weightData: data.buffer,
      modelId: handle.modelId,
      bounds: handle.bounds,
    },
    [data.buffer],
  ];
}

/** Fresh float32 copies of weights given as tensors or arrays. */
async function readWeights(list: readonly (tf.Tensor | Float32Array)[], names: readonly string[]): Promise<Float32Array[]> {
  return Promise.all(
    list.map(async (w, i) => {
      if (w instanceof Float32Array) return w.slice();
      if (w.dtype !== 'float32') {
        throw new UsageError('E_POOL_WEIGHTS', `Weight ${i} ('${names[i] ?? '?'}') is ${w.dtype}; the pool moves float32 weights only.`, {
          details: { index: i, dtype: w.dtype },
        });
      }
      return Float32Array.from((await w.data()) as Float32Array);
    }),
  );
}

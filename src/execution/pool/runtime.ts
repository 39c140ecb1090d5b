/**
 * What a pool worker does with a request. The same class serves a worker thread and the
 * in-process mode (`workers: 1`), so one code path produces the numbers in both. Shard
 * work goes to the handler registered for its kind. Every tensor made here is disposed
 * before the request returns; `memory` lets tests check it.
 */
import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../../core/errors.js';
import { TfjsClassifier } from '../../models/tfjs-classifier.js';
import { importOnnx } from '../../models/onnx/index.js';
import type { HandlerRegistry, ProgressSink, ShardTarget } from '../handlers/registry.js';
import type { LoadLayersRequest, LoadOnnxRequest, PoolRequest, PoolResponse, SetWeightsRequest } from './protocol.js';

export type { ProgressSink } from '../handlers/registry.js';

/** A loaded model: what shards run against, and how to free it. */
type Entry = ShardTarget & { release(): void };

export class PoolRuntime {
  private readonly models = new Map<number, Entry>();

  constructor(private readonly handlers: HandlerRegistry) {}

  /**
   * Runs one request. Throws whatever the underlying operation throws; the caller
   * serialises it.
   */
  async handle(request: PoolRequest, onProgress?: ProgressSink): Promise<PoolResponse> {
    switch (request.op) {
      case 'load':
        if (request.format === 'onnx') this.loadOnnx(request);
        else await this.load(request);
        return null;
      case 'set-weights':
        this.setWeights(request);
        return null;
      case 'unload':
        this.unload(request.handle);
        return null;
      case 'run':
        return this.handlers.get(request.kind).run(this.get(request.handle), request.payload, onProgress);
      case 'memory': {
        const m = tf.memory();
        return { numTensors: m.numTensors, numBytes: m.numBytes };
      }
      case 'exit':
        // Only meaningful in a worker thread; the thread host handles it before us.
        throw new UsageError('E_POOL_EXIT_IN_PROCESS', 'A pool running in-process (workers: 1) has no worker thread to end.');
    }
  }

  /** Buffers of a response that can be moved, not copied, to the other thread. */
  transferables(request: PoolRequest, response: PoolResponse): ArrayBuffer[] {
    if (request.op !== 'run' || response === null) return [];
    return this.handlers.get(request.kind).transferables?.(response) ?? [];
  }

  /** Disposes every model copy this runtime holds. */
  dispose(): void {
    for (const handle of [...this.models.keys()]) this.unload(handle);
  }

  private get(handle: number): Entry {
    const entry = this.models.get(handle);
    if (!entry)
      throw new UsageError('E_POOL_MODEL', `Model handle ${handle} is not loaded in this worker; load it with pool.loadModel first.`, {
        details: { handle },
      });
    return entry;
  }

  private async load(request: LoadLayersRequest): Promise<void> {
    // Replacing is what a restarted worker's replay and a repeated load both want.
    this.unload(request.handle);
    const model = await tf.loadLayersModel(
      tf.io.fromMemory({ modelTopology: request.topology, weightSpecs: request.weightSpecs, weightData: request.weightData }),
    );
    this.models.set(request.handle, {
      model,
      classifier: new TfjsClassifier(model, { id: request.modelId, bounds: request.bounds }),
      release: () => model.dispose(),
    });
  }

  /** Imports the ONNX file's bytes again in this thread: the same graph, constants and preprocessing. */
  private loadOnnx(request: LoadOnnxRequest): void {
    this.unload(request.handle);
    const source = {
      bytes: new Uint8Array(request.bytes),
      path: request.path,
      id: request.modelId,
      ...(request.preprocess ? { preprocess: request.preprocess } : {}),
    };
    const { classifier, dispose } = importOnnx(source);
    this.models.set(request.handle, { classifier, release: dispose });
  }

  private setWeights(request: SetWeightsRequest): void {
    const { model } = this.get(request.handle);
    if (!model) throw new UsageError('E_POOL_WEIGHTS', `Model handle ${request.handle} is an imported ONNX model; its weights are fixed.`);
    const current = model.weights;
    if (request.weights.length !== current.length) {
      throw new UsageError(
        'E_POOL_WEIGHTS',
        `Got ${request.weights.length} weight arrays for a model with ${current.length} weights; pass them in model.weights order.`,
        {
          details: { expected: current.length, actual: request.weights.length },
        },
      );
    }
    const tensors = current.map((w, i) => {
      const values = request.weights[i] as Float32Array;
      const size = w.shape.reduce((a: number, b) => a * (b ?? 1), 1);
      if (values.length !== size) {
        throw new UsageError(
          'E_POOL_WEIGHTS',
          `Weight ${i} ('${w.originalName}') needs ${size} values for shape [${w.shape.join(', ')}]; got ${values.length}.`,
          {
            details: { index: i, expected: size, actual: values.length },
          },
        );
      }
      return values;
    });
    const made = tensors.map((values, i) => tf.tensor(values, current[i]?.shape as number[], 'float32'));
    try {
      model.setWeights(made);
    } finally {
      for (const t of made) t.dispose();
    }
  }

  private unload(handle: number): void {
    const entry = this.models.get(handle);
    if (!entry) return;
    this.models.delete(handle);
    entry.release();
  }
}

/**
 * What a pool worker does with a request. The same class serves a worker thread and the
 * in-process mode (`workers: 1`), so one code path produces the numbers in both. Every
 * tensor made here is disposed before the request returns; `memory` lets tests check it.
 */
import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../../core/errors.js';
import { createAttack } from '../../attacks/registry.js';
import { TfjsClassifier } from '../../models/tfjs-classifier.js';
import { createObjective } from '../../training/objectives/registry.js';
import type { Objective } from '../../training/objectives/types.js';
import type {
  AttackShardRequest,
  AttackShardResult,
  GradientsShardRequest,
  GradientsShardResult,
  LoadRequest,
  PoolRequest,
  PoolResponse,
  SetWeightsRequest,
} from './protocol.js';

interface LoadedModel {
  model: tf.LayersModel;
  classifier: TfjsClassifier;
}


export type ProgressSink = (done: number, total: number) => void;

export class PoolRuntime {
  private readonly models = new Map<number, LoadedModel>();
  private readonly objectives = new Map<string, Objective>();

  /**
   * Runs one request. Throws whatever the underlying operation throws; the caller
   * serialises it.
   */
  async handle(request: PoolRequest, onProgress?: ProgressSink): Promise<PoolResponse> {
    switch (request.op) {
      case 'load':
        await this.load(request);
        return null;
      case 'set-weights':
        this.setWeights(request);
        return null;
      case 'unload':
        this.unload(request.handle);
        return null;
      case 'attack':
        return this.attack(request, onProgress);
      case 'gradients':
        return this.gradients(request);
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
  static transferables(response: PoolResponse): ArrayBuffer[] {
    if (response === null) return [];
    if ('adversarial' in response) return [response.adversarial.buffer, response.success.buffer, response.perturbation.buffer, response.queries.buffer] as ArrayBuffer[];
    if ('gradients' in response) return response.gradients.map((g) => g.buffer as ArrayBuffer);
    return [];
  }

  /** Disposes every model copy this runtime holds. */
  dispose(): void {
    for (const handle of [...this.models.keys()]) this.unload(handle);
  }

  private get(handle: number): LoadedModel {
    const entry = this.models.get(handle);
    if (!entry) throw new UsageError('E_POOL_MODEL', `Model handle ${handle} is not loaded in this worker; load it with pool.loadModel first.`, { details: { handle } });
    return entry;
  }

  private async load(request: LoadRequest): Promise<void> {
    // Replacing is what a restarted worker's replay and a repeated load both want.
    this.unload(request.handle);
    const model = await tf.loadLayersModel(
      tf.io.fromMemory({ modelTopology: request.topology, weightSpecs: request.weightSpecs, weightData: request.weightData }),
    );
    this.models.set(request.handle, { model, classifier: new TfjsClassifier(model, { id: request.modelId, bounds: request.bounds }) });
  }

  private setWeights(request: SetWeightsRequest): void {
    const { model } = this.get(request.handle);
    const current = model.weights;
    if (request.weights.length !== current.length) {
      throw new UsageError('E_POOL_WEIGHTS', `Got ${request.weights.length} weight arrays for a model with ${current.length} weights; pass them in model.weights order.`, {
        details: { expected: current.length, actual: request.weights.length },
      });
    }
    const tensors = current.map((w, i) => {
      const values = request.weights[i] as Float32Array;
      const size = w.shape.reduce((a: number, b) => a * (b ?? 1), 1);
      if (values.length !== size) {
        throw new UsageError('E_POOL_WEIGHTS', `Weight ${i} ('${w.originalName}') needs ${size} values for shape [${w.shape.join(', ')}]; got ${values.length}.`, {
          details: { index: i, expected: size, actual: values.length },
        });
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
    entry.model.dispose();
  }

  private async attack(request: AttackShardRequest, onProgress?: ProgressSink): Promise<AttackShardResult> {
    const { classifier } = this.get(request.handle);
    const attack = createAttack(request.attackId, request.attackOptions);
    const x = tf.tensor(request.x, request.shape, 'float32');
    try {
      const result = await attack.run(classifier, x, request.labels, request.threat, {
        seed: request.seed,
        ...(request.targets ? { goal: { kind: 'targeted' as const, targets: request.targets } } : {}),
        ...(onProgress ? { onProgress: (p: { done: number; total: number }) => onProgress(p.done, p.total) } : {}),
      });
      let adversarial: Float32Array;
      try {
        adversarial = tight((await result.adversarial.data()) as Float32Array);
      } finally {
        result.adversarial.dispose();
      }
      return { adversarial, success: tight(result.success), perturbation: tight(result.perturbation), queries: tight(result.queries) };
    } finally {
      x.dispose();
    }
  }

  private async gradients(request: GradientsShardRequest): Promise<GradientsShardResult> {
    const { model } = this.get(request.handle);
    const objective = this.objective(request.objective);
    const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const x = tf.tensor(request.x, request.shape, 'float32');
    const y = tf.tensor1d(request.labels, 'int32');
    const batch = { x, y, ...request.batch };
    let prepared: tf.Tensor | undefined;
    let value: tf.Scalar | undefined;
    let grads: tf.NamedTensorMap = {};
    try {
      // Outside the tape, as on the main thread: the inner attack is not differentiated.
      prepared = objective.prepare ? await objective.prepare(model, batch) : x;
      const input = prepared;
      ({ value, grads } = tf.variableGrads(() => objective.loss(model, batch, input), variables));
      const loss = (await value.data())[0] ?? NaN;
      const gradients = await Promise.all(
        variables.map(async (v) => {
          const g = grads[v.name];
          // A weight the loss does not reach has a zero gradient, not a missing one.
          return g ? tight((await g.data()) as Float32Array) : new Float32Array(v.size);
        }),
      );
      return { loss, count: request.labels.length, gradients };
    } finally {
      if (prepared && prepared !== x) prepared.dispose();
      value?.dispose();
      for (const g of Object.values(grads)) g.dispose();
      x.dispose();
      y.dispose();
    }
  }

  /** Objectives are rebuilt once per distinct spec: a training run sends the same one every step. */
  private objective(spec: GradientsShardRequest['objective']): Objective {
    const key = JSON.stringify(spec);
    let objective = this.objectives.get(key);
    if (!objective) {
      objective = createObjective(spec.id, spec.options ?? {});
      if (this.objectives.size >= 16) this.objectives.clear();
      this.objectives.set(key, objective);
    }
    return objective;
  }
}

/** A typed array that owns its whole buffer, so the buffer can be transferred alone. */
function tight<T extends Float32Array | Int32Array | Uint8Array>(a: T): T {
  return a.byteOffset === 0 && a.byteLength === a.buffer.byteLength ? a : (a.slice() as T);
}

/**
 * Ensemble members loaded twice: on the serving thread (the fallback, and the path for
 * text or oversized batches) and on a member thread (member-pool.ts) that runs them on
 * the other core while the served model runs here. `start` hands a batch to the thread;
 * the ensemble layer collects the labels after the served model answered.
 */
import * as tf from '@tensorflow/tfjs';
import { InputError } from '../../core/errors.js';
import { loadClassifierModel, type StoredClassifier } from '../../models/store.js';
import type { ImageBatch } from '../layer.js';
import { fastForward } from './fast-forward.js';
import type { EnsembleMember } from './member.js';
import { startMemberPool, type MemberPool, type MemberPoolOptions } from './member-pool.js';

/**
 * Labels per member for a started batch, or undefined when the caller must evaluate the
 * members itself (`wait`: wait for a batch the thread has not begun instead of taking it back).
 */
export type PendingLabels = (options?: { wait?: boolean }) => Promise<Int32Array[] | undefined>;

export interface ParallelEnsemble {
  /** The members on the serving thread (fallback). */
  readonly members: readonly EnsembleMember[];
  /** 'thread' once the member thread runs; 'inline' while it starts or when it could not (see `reason`). */
  mode(): 'thread' | 'inline';
  /** Why the thread is not running, once it has failed to start. */
  reason(): string | undefined;
  /** Resolves once the member thread is ready or has failed to start. */
  ready(): Promise<void>;
  /** Starts the members on `batch` on the member thread; undefined when it cannot take it. */
  start(batch: ImageBatch): PendingLabels | undefined;
  /** Stops the thread and frees the serving thread's models. */
  dispose(): Promise<void>;
}

/**
 * Loads member models for the serving thread, each evaluated with `fastForward`.
 *
 * @throws DataError from the model loader; InputError `E_INPUT_SHAPE` when a member's input shape differs from `inputShape`.
 */
export async function loadInlineMembers(dirs: readonly string[], inputShape: readonly number[]): Promise<StoredClassifier[]> {
  const loaded: StoredClassifier[] = [];
  try {
    for (const dir of dirs) {
      const stored = await loadClassifierModel(dir);
      loaded.push(stored);
      const shape = stored.classifier.inputShape;
      if (shape.length !== inputShape.length || shape.some((d, i) => d !== inputShape[i]))
        throw new InputError(
          'E_INPUT_SHAPE',
          `Ensemble member ${dir} takes [${shape.join(', ')}] but the served model takes [${inputShape.join(', ')}]; use members trained on the same inputs.`,
        );
    }
  } catch (error) {
    for (const s of loaded) s.model.dispose();
    throw error;
  }
  return loaded;
}

/** A stored model as an ensemble member: one forward pass, labels read back with the logits (argmax here, not a kernel). */
export function inlineMember(stored: StoredClassifier): EnsembleMember {
  const forward = fastForward(stored);
  const k = stored.classifier.numClasses;
  return {
    id: `${stored.info.architecture}:${stored.dir}`,
    predictBatch(batch: ImageBatch): Int32Array {
      const logits = tf.tidy(() => forward(tf.tensor(batch.x, [batch.count, ...batch.shape])));
      const flat = logits.dataSync() as Float32Array;
      logits.dispose();
      const labels = new Int32Array(batch.count);
      for (let e = 0; e < batch.count; e++) {
        let best = 0;
        for (let c = 1; c < k; c++) if ((flat[e * k + c] as number) > (flat[e * k + best] as number)) best = c;
        labels[e] = best;
      }
      return labels;
    },
  };
}

/**
 * Loads members from model directories for the serving thread and starts a member thread
 * with the same models in the background (a server must not wait seconds for it: the
 * members run inline until it is ready). When the thread cannot start, the members keep
 * running inline (`mode()` 'inline', `reason()` says why): slower, with the same verdicts.
 *
 * @throws DataError from the model loader; InputError `E_INPUT_SHAPE` when a member's input shape differs from `inputShape`.
 * @example const ensemble = await loadParallelMembers(['runs/mlp/model'], [28, 28, 1]);
 */
export async function loadParallelMembers(
  dirs: readonly string[],
  inputShape: readonly number[],
  options: MemberPoolOptions & { threads?: boolean } = {},
): Promise<ParallelEnsemble> {
  const loaded = await loadInlineMembers(dirs, inputShape);
  const members = loaded.map(inlineMember);
  let pool: MemberPool | undefined;
  let reason: string | undefined = options.threads === false ? 'threads are off' : undefined;
  let disposed = false;
  const starting =
    options.threads === false
      ? Promise.resolve()
      : startMemberPool(
          dirs,
          inputShape,
          loaded.map((s) => s.classifier.numClasses),
          options,
        ).then(
          (p) => {
            if (disposed) void p.close();
            else pool = p;
          },
          (error: unknown) => {
            reason = error instanceof Error ? error.message : String(error);
          },
        );
  return {
    members,
    mode: () => (pool ? 'thread' : 'inline'),
    reason: () => reason,
    ready: () => starting,
    start(batch) {
      const ticket = pool?.submit(batch);
      if (ticket === undefined || !pool) return undefined;
      const p = pool;
      return async (o) => (await p.collect(ticket, o))?.labels;
    },
    async dispose() {
      disposed = true;
      await pool?.close();
      pool = undefined;
      for (const s of loaded) s.model.dispose();
    },
  };
}

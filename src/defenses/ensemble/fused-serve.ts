/**
 * Serving a fused ensemble (fused.ts: members' logits averaged by an `Average` layer).
 *
 * No kernels beyond the members' own: the mean and the members' labels are computed here
 * from the members' logits. On the wasm backend every kernel costs ~10 µs of dispatch
 * whatever its size, and the graph's `Average` (an add and a multiply per member) plus a
 * `Concat` for a single download cost more than the arithmetic they do (10 classes per
 * member per example); reading each member's logits back is a copy out of the wasm heap.
 *
 * Members in parallel: given the model's directory, members 2..N run on a member thread
 * (member-pool.ts) while member 1 runs here, so a request costs about its slowest member
 * rather than their sum when the second core is free. Until the thread is ready, when it
 * cannot take a batch, or when it has not begun one by the time member 1 is done, the
 * members run here: the same numbers either way.
 *
 * A multi-head model (heads.ts: dense heads on one shared trunk) has no member worth a
 * thread: its trunk runs once and its heads as one matmul (shared-heads.ts), here.
 */
import * as tf from '@tensorflow/tfjs';
import type { ImageBatch } from '../layer.js';
import { fusedMemberOutputs, headForwards } from './fast-forward.js';
import { startMemberPool, type MemberPool, type MemberPoolOptions } from './member-pool.js';
import { sharedHeads } from './shared-heads.js';

export { fusedMemberOutputs } from './fast-forward.js';

export interface FusedRun {
  /** Mean of the members' logits, one row per example (what the fused model outputs). */
  logits: Float32Array[];
  /** Per member, predicted class per example. */
  memberLabels: Int32Array[];
  /** Per member, logits `[count, classes]` row-major. */
  memberLogits: Float32Array[];
}

export interface FusedHeads {
  readonly members: number;
  /** 'thread' once members 2..N run on the member thread. */
  mode(): 'thread' | 'inline';
  /** Resolves once the member thread is ready or has failed to start (then `mode()` stays 'inline'). */
  ready(): Promise<void>;
  /** `wait`: wait for the thread rather than take back a batch it has not begun (tests). */
  run(batch: ImageBatch, options?: { wait?: boolean }): Promise<FusedRun>;
  /** All members on this thread, one pass. */
  runInline(batch: ImageBatch): FusedRun;
  /** Stops the member thread (the model itself belongs to the caller). */
  dispose(): void;
}

/** Mean rows and argmax labels from per-member logits `[count, k]`. */
export function combineMembers(memberLogits: readonly Float32Array[], count: number): FusedRun {
  const n = memberLogits.length;
  const k = (memberLogits[0]?.length ?? 0) / count;
  const logits: Float32Array[] = [];
  const memberLabels = memberLogits.map(() => new Int32Array(count));
  for (let e = 0; e < count; e++) {
    const row = new Float64Array(k);
    memberLogits.forEach((flat, m) => {
      let best = 0;
      for (let c = 0; c < k; c++) {
        const value = flat[e * k + c] as number;
        row[c] = (row[c] as number) + value;
        if (value > (flat[e * k + best] as number)) best = c;
      }
      (memberLabels[m] as Int32Array)[e] = best;
    });
    logits.push(Float32Array.from(row, (v) => v / n));
  }
  return { logits, memberLabels, memberLogits: [...memberLogits] };
}

/** Runs `model` (one input, one output per member) and reads each output back. */
function readHeads(model: tf.LayersModel, batch: ImageBatch): Float32Array[] {
  const tensors = tf.tidy(() => {
    const out = model.apply(tf.tensor(batch.x, [batch.count, ...batch.shape]), { training: false }) as tf.Tensor | tf.Tensor[];
    return Array.isArray(out) ? out : [out];
  });
  const data = tensors.map((t) => t.dataSync() as Float32Array);
  tf.dispose(tensors);
  return data;
}

/**
 * A fused ensemble served member by member. Undefined when `model` is not a fused ensemble.
 * The heads share the ensemble's layers and weights (dispose the ensemble, then this).
 * With `dir` (where the model was loaded from) and `threads` not false, a member thread
 * starts in the background.
 *
 * @example const heads = fusedHeads(model, { dir }); const { logits, memberLabels } = await heads.run(batch);
 */
export function fusedHeads(
  model: tf.LayersModel,
  options: { dir?: string; threads?: boolean; pool?: MemberPoolOptions } = {},
): FusedHeads | undefined {
  const outputs = fusedMemberOutputs(model);
  if (!outputs) return undefined;
  const shared = sharedHeads(model, outputs);
  if (shared) {
    const runShared = (batch: ImageBatch): FusedRun => combineMembers(shared.run(batch), batch.count);
    return {
      members: shared.heads,
      mode: () => 'inline',
      ready: () => Promise.resolve(),
      runInline: runShared,
      run: (batch) => Promise.resolve(runShared(batch)),
      dispose: () => shared.dispose(),
    };
  }
  const input = model.inputs[0] as tf.SymbolicTensor;
  const all = tf.model({ inputs: input, outputs });
  const rest = tf.model({ inputs: input, outputs: outputs.slice(1) });
  const [first] = headForwards(model, outputs.slice(0, 1));
  let pool: MemberPool | undefined;
  let disposed = false;
  const starting =
    options.dir !== undefined && options.threads !== false
      ? startMemberPool(
          [{ dir: options.dir, heads: outputs.slice(1).map((_, i) => i + 1) }],
          input.shape.slice(1) as number[],
          outputs.slice(1).map((o) => o.shape.at(-1) as number),
          options.pool,
        ).then(
          (p) => {
            if (disposed) void p.close();
            else pool = p;
          },
          // A thread that cannot start leaves the members on this thread (same results, slower).
          () => undefined,
        )
      : Promise.resolve();
  const runInline = (batch: ImageBatch): FusedRun => combineMembers(readHeads(all, batch), batch.count);
  return {
    members: outputs.length,
    mode: () => (pool ? 'thread' : 'inline'),
    ready: () => starting,
    runInline,
    async run(batch, runOptions = {}) {
      const ticket = pool?.submit(batch);
      if (ticket === undefined || !pool || !first) return runInline(batch);
      const own = tf.tidy(() => first(tf.tensor(batch.x, [batch.count, ...batch.shape])));
      const mine = own.dataSync() as Float32Array;
      own.dispose();
      const others = (await pool.collect(ticket, runOptions))?.logits ?? readHeads(rest, batch);
      return combineMembers([mine, ...others], batch.count);
    },
    dispose() {
      disposed = true;
      void pool?.close();
      pool = undefined;
    },
  };
}

/**
 * Serving a fused ensemble (fused.ts: members' logits averaged by an `Average` layer) with
 * one forward pass and no kernels beyond the members' own. The mean and the members'
 * labels are computed here from the members' logits: on the wasm backend every kernel
 * costs ~10 µs of dispatch whatever its size, and the graph's `Average` (an add and a
 * multiply per member) plus a `Concat` for a single download cost more than the
 * arithmetic they do (10 classes per member per example). Reading each member's logits
 * back is a copy out of the wasm heap (~2 µs), so the members are read one by one.
 */
import * as tf from '@tensorflow/tfjs';
import type { ImageBatch } from '../layer.js';

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
  run(batch: ImageBatch): FusedRun;
}

/** The members' logit tensors of a fused ensemble (the inputs of its final `Average`), or undefined for any other model. */
export function fusedMemberOutputs(model: tf.LayersModel): tf.SymbolicTensor[] | undefined {
  const last = model.layers[model.layers.length - 1];
  if (last?.getClassName() !== 'Average') return undefined;
  const inputs = last.input;
  return Array.isArray(inputs) && inputs.length >= 2 ? inputs : undefined;
}

/** Mean rows and argmax labels from per-member logits `[count, k]`. */
export function combineMembers(memberLogits: readonly Float32Array[], count: number): Omit<FusedRun, 'memberLogits'> {
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
  return { logits, memberLabels };
}

/**
 * A fused ensemble's members as one model with one output per member, run without the
 * final `Average`. Undefined when `model` is not a fused ensemble. The heads model shares
 * the ensemble's layers and weights (dispose the ensemble, not this).
 *
 * @example const heads = fusedHeads(model); const { logits, memberLabels } = heads.run(batch);
 */
export function fusedHeads(model: tf.LayersModel): FusedHeads | undefined {
  const outputs = fusedMemberOutputs(model);
  if (!outputs) return undefined;
  const heads = tf.model({ inputs: model.inputs, outputs });
  return {
    members: outputs.length,
    run(batch) {
      const tensors = tf.tidy(() => heads.apply(tf.tensor(batch.x, [batch.count, ...batch.shape]), { training: false }) as tf.Tensor[]);
      const memberLogits = tensors.map((t) => t.dataSync() as Float32Array);
      tf.dispose(tensors);
      return { ...combineMembers(memberLogits, batch.count), memberLogits };
    },
  };
}

/**
 * Serving a multi-head model (heads.ts): the trunk runs once and the K heads run as ONE
 * fused matmul over their kernels concatenated side by side (`[features, K * classes]`),
 * so the ensemble costs the bare model's forward pass plus a matmul K times as wide as its
 * last layer, with one download. Served separately, each head would cost a kernel dispatch
 * (~10 µs on wasm) for 10 outputs. The concatenated kernel is a copy of the heads' weights,
 * taken once: a served model's weights do not change while it is served.
 */
import * as tf from '@tensorflow/tfjs';
import type { ImageBatch } from '../layer.js';
import { headForwards } from './fast-forward.js';

export interface SharedHeads {
  readonly heads: number;
  /** Per head, logits `[count, classes]` row-major. */
  run(batch: ImageBatch): Float32Array[];
  /** Frees the concatenated kernel and bias (the model's own weights belong to the model). */
  dispose(): void;
}

/** The head's kernel and bias when `head` is a plain linear Dense layer with a bias on `trunk`; else undefined. */
function headWeights(head: tf.SymbolicTensor, trunk: tf.SymbolicTensor): [tf.Tensor2D, tf.Tensor1D] | undefined {
  const layer = head.sourceLayer as tf.layers.Layer;
  if (layer.getClassName() !== 'Dense' || head.inputs.length !== 1 || head.inputs[0] !== trunk) return undefined;
  const config = layer.getConfig() as { activation?: string; useBias?: boolean };
  if ((config.activation ?? 'linear') !== 'linear' || config.useBias === false) return undefined;
  const [kernel, bias] = layer.weights.map((w) => w.read());
  return kernel?.rank === 2 && bias?.rank === 1 ? [kernel as tf.Tensor2D, bias as tf.Tensor1D] : undefined;
}

/**
 * The shared-trunk forward pass of a model whose member outputs (`heads`) are linear dense
 * layers on one 2-D tensor; undefined for any other ensemble (whole-model members).
 *
 * @example const shared = sharedHeads(model, fusedMemberOutputs(model) ?? []); const perHead = shared?.run(batch);
 */
export function sharedHeads(model: tf.LayersModel, heads: readonly tf.SymbolicTensor[]): SharedHeads | undefined {
  const trunk = heads[0]?.inputs[0];
  if (heads.length < 2 || !trunk || trunk.shape.length !== 2) return undefined;
  const weights = heads.map((h) => headWeights(h, trunk));
  if (weights.some((w) => w === undefined)) return undefined;
  const pairs = weights as [tf.Tensor2D, tf.Tensor1D][];
  const classes = pairs[0]?.[0].shape[1] ?? 0;
  if (pairs.some(([k]) => k.shape[1] !== classes)) return undefined;
  const [trunkForward] = headForwards(model, [trunk]);
  if (!trunkForward) return undefined;
  const kernel = tf.concat(
    pairs.map(([k]) => k),
    1,
  );
  const bias = tf.concat(pairs.map(([, b]) => b));
  const k = pairs.length;
  return {
    heads: k,
    run(batch) {
      const out = tf.tidy(() => {
        const features = trunkForward(tf.tensor(batch.x, [batch.count, ...batch.shape]));
        return tf.fused.matMul({ a: features, b: kernel, bias });
      });
      const flat = out.dataSync() as Float32Array;
      out.dispose();
      // Row e of the matmul holds head 0's logits, then head 1's, ...: one slice per head and example.
      const perHead = Array.from({ length: k }, () => new Float32Array(batch.count * classes));
      for (let e = 0; e < batch.count; e++)
        for (let m = 0; m < k; m++) {
          const from = (e * k + m) * classes;
          (perHead[m] as Float32Array).set(flat.subarray(from, from + classes), e * classes);
        }
      return perHead;
    },
    dispose() {
      tf.dispose([kernel, bias]);
    },
  };
}

/**
 * A member's forward pass without the Layers API around it. For one example the Layers
 * API's bookkeeping (input checks, name scopes, a tidy per layer, the functional executor)
 * costs about as much as a small dense network's arithmetic on the wasm backend (~20-30 µs
 * of an MLP member's ~120 µs here); a chain of dense layers is therefore run as one
 * `tf.fused.matMul` per layer on the model's own weight tensors. Anything else keeps the
 * model's own `apply`.
 */
import * as tf from '@tensorflow/tfjs';
import type { StoredClassifier } from '../../models/store.js';

/** Logits `[batch, classes]` for an input batch; call inside a `tf.tidy`. */
export type Forward = (x: tf.Tensor) => tf.Tensor2D;

interface DenseStep {
  kernel: tf.Tensor2D;
  bias: tf.Tensor1D | undefined;
  activation: 'linear' | 'relu';
}

/** The model's layers as dense steps, or undefined when any layer is not a plain dense/flatten layer. */
function denseSteps(model: tf.LayersModel): DenseStep[] | undefined {
  if (model.getClassName() !== 'Sequential') return undefined;
  const steps: DenseStep[] = [];
  for (const layer of model.layers) {
    const kind = layer.getClassName();
    if (kind === 'Flatten' || kind === 'InputLayer') continue;
    if (kind !== 'Dense') return undefined;
    const config = layer.getConfig() as { activation?: string; useBias?: boolean };
    const activation = config.activation ?? 'linear';
    if (activation !== 'linear' && activation !== 'relu') return undefined;
    // LayerVariable.read() is the variable itself: no copy, and XNNPACK keeps the weights it packed for it.
    const [kernel, bias] = layer.weights.map((w) => w.read());
    if (kernel?.rank !== 2 || (config.useBias !== false && bias?.rank !== 1)) return undefined;
    steps.push({ kernel: kernel as tf.Tensor2D, bias: config.useBias === false ? undefined : (bias as tf.Tensor1D), activation });
  }
  return steps.length > 0 ? steps : undefined;
}

/**
 * The fastest forward pass this module knows for a stored model: dense chains as fused
 * matmuls, everything else through the classifier (which also turns a softmax output into
 * log-probabilities).
 *
 * @example const forward = fastForward(stored); const logits = tf.tidy(() => forward(x));
 */
export function fastForward(stored: StoredClassifier): Forward {
  const steps = denseSteps(stored.model);
  if (!steps) return (x) => stored.classifier.logits(x);
  return (x) => {
    let h = x.reshape([x.shape[0] as number, -1]) as tf.Tensor2D;
    for (const s of steps) h = tf.fused.matMul({ a: h, b: s.kernel, ...(s.bias ? { bias: s.bias } : {}), activation: s.activation });
    return h;
  };
}

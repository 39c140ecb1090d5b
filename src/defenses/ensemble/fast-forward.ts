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

/** A layer as a dense step; null to skip it (flatten, input); undefined when it is anything else. */
function denseStep(layer: tf.layers.Layer): DenseStep | null | undefined {
  const kind = layer.getClassName();
  if (kind === 'Flatten' || kind === 'InputLayer') return null;
  if (kind !== 'Dense') return undefined;
  const config = layer.getConfig() as { activation?: string; useBias?: boolean };
  const activation = config.activation ?? 'linear';
  if (activation !== 'linear' && activation !== 'relu') return undefined;
  // LayerVariable.read() is the variable itself: no copy, and XNNPACK keeps the weights it packed for it.
  const [kernel, bias] = layer.weights.map((w) => w.read());
  if (kernel?.rank !== 2 || (config.useBias !== false && bias?.rank !== 1)) return undefined;
  return { kernel: kernel as tf.Tensor2D, bias: config.useBias === false ? undefined : (bias as tf.Tensor1D), activation };
}

/** Dense steps for a list of layers, or undefined when any layer is not a plain dense/flatten layer. */
function denseSteps(layers: readonly tf.layers.Layer[]): DenseStep[] | undefined {
  const steps: DenseStep[] = [];
  for (const layer of layers) {
    const step = denseStep(layer);
    if (step === undefined) return undefined;
    if (step) steps.push(step);
  }
  return steps.length > 0 ? steps : undefined;
}

/**
 * The layers between `input` and `output` when they form a single chain (each layer one
 * input), walking the graph by tensors, not by layer nodes: a fused ensemble's layers were
 * also called once inside their own Sequential, so they have two nodes each.
 */
function chainTo(input: tf.SymbolicTensor, output: tf.SymbolicTensor): tf.layers.Layer[] | undefined {
  const layers: tf.layers.Layer[] = [];
  let t = output;
  for (let depth = 0; t !== input; depth++) {
    if (depth > 1000 || t.inputs.length !== 1) return undefined;
    layers.unshift(t.sourceLayer as tf.layers.Layer);
    t = t.inputs[0] as tf.SymbolicTensor;
  }
  return layers;
}

function chainForward(steps: readonly DenseStep[]): Forward {
  return (x) => {
    let h = tf.reshape(x, [x.shape[0] as number, -1]) as tf.Tensor2D;
    for (const s of steps)
      h = tf.fused.matMul({ a: h, b: s.kernel, ...(s.bias ? { bias: s.bias } : {}), activation: s.activation }) as tf.Tensor2D;
    return h;
  };
}

/**
 * The fastest forward pass this module knows for a stored model: dense chains as fused
 * matmuls, everything else through the classifier (which also turns a softmax output into
 * log-probabilities).
 *
 * @example const forward = fastForward(stored); const logits = tf.tidy(() => forward(x));
 */
export function fastForward(stored: StoredClassifier): Forward {
  const steps = stored.model.getClassName() === 'Sequential' ? denseSteps(stored.model.layers) : undefined;
  return steps ? chainForward(steps) : (x) => stored.classifier.logits(x);
}

/**
 * One forward pass per output `heads[i]` of a single-input model, each computing only
 * that head's branch (dense chains as fused matmuls, other branches as a sub-model sharing
 * the model's layers and weights).
 *
 * @example const [first] = headForwards(model, [model.outputs[0]]);
 */
export function headForwards(model: tf.LayersModel, heads: readonly tf.SymbolicTensor[]): Forward[] {
  const input = model.inputs[0] as tf.SymbolicTensor;
  return heads.map((head) => {
    const chain = chainTo(input, head);
    const steps = chain ? denseSteps(chain) : undefined;
    if (steps) return chainForward(steps);
    const sub = tf.model({ inputs: input, outputs: head });
    return (x) => sub.apply(x, { training: false }) as tf.Tensor2D;
  });
}

/** The members' logit tensors of a fused ensemble (the inputs of its final `Average`), or undefined for any other model. */
export function fusedMemberOutputs(model: tf.LayersModel): tf.SymbolicTensor[] | undefined {
  const last = model.layers[model.layers.length - 1];
  if (last?.getClassName() !== 'Average') return undefined;
  const inputs = last.input;
  return Array.isArray(inputs) && inputs.length >= 2 ? inputs : undefined;
}

/**
 * A trained ensemble as ONE model: N members of an architecture, each from its own seed,
 * share the input and their logits are averaged inside one TF.js graph. One forward pass
 * (one `predict`, one tidy) serves all members, so the ensemble is a plain `LayersModel`:
 * saved, loaded, attacked (gradients flow through the mean) and served like any model.
 * The per-member logits stay reachable through `members`, a second model over the same
 * layers, which the diversity regulariser reads during training.
 *
 * Reference: Pang et al., "Improving Adversarial Robustness via Promoting Ensemble
 * Diversity" (ICML 2019), https://arxiv.org/abs/1901.08846.
 */
import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../../core/errors.js';
import { buildModel, type ArchitectureOptions } from '../../models/architectures.js';

/** Largest ensemble the builder accepts: every member costs a full forward pass. */
export const MAX_ENSEMBLE_MEMBERS = 16;

export interface FusedEnsemble {
  /** The ensemble: mean of the members' logits, `[batch, classes]`. */
  model: tf.LayersModel;
  /** The same layers with one output per member, `[batch, classes]` each. */
  members: tf.LayersModel;
}

/** Builds each member's layers on `input` and returns its logits. */
function memberOutput(seq: tf.Sequential, input: tf.SymbolicTensor): tf.SymbolicTensor {
  let h = input;
  for (const layer of seq.layers) h = layer.apply(h) as tf.SymbolicTensor;
  return h;
}

/**
 * Builds an untrained ensemble of `members` copies of an architecture (seeds `seed`, `seed+1`, …).
 *
 * @throws UsageError `E_ENSEMBLE_SIZE` for fewer than 2 or more than {@link MAX_ENSEMBLE_MEMBERS} members;
 *   `E_UNKNOWN_ARCHITECTURE` for an unknown architecture.
 * @example const { model, members } = buildFusedEnsemble('mlp', { inputShape: [28, 28, 1], numClasses: 10, seed: 1, members: 3 });
 */
export function buildFusedEnsemble(
  architecture: string,
  options: ArchitectureOptions & {
    members: number;
    /** Member i's architecture is `architectures[i % length]` (a heterogeneous ensemble); default `architecture` for all. */
    architectures?: readonly string[];
  },
): FusedEnsemble {
  const n = options.members;
  if (!Number.isInteger(n) || n < 2 || n > MAX_ENSEMBLE_MEMBERS)
    throw new UsageError(
      'E_ENSEMBLE_SIZE',
      `An ensemble needs between 2 and ${MAX_ENSEMBLE_MEMBERS} members (got ${String(n)}); set members to a whole number in that range.`,
      { details: { members: n } },
    );
  const input = tf.input({ shape: [...options.inputShape], name: 'ensemble_input' });
  const outputs: tf.SymbolicTensor[] = [];
  for (let i = 0; i < n; i++) {
    const arch = options.architectures?.[i % options.architectures.length] ?? architecture;
    const seq = buildModel(arch, { inputShape: options.inputShape, numClasses: options.numClasses, seed: options.seed + i });
    outputs.push(memberOutput(seq, input));
  }
  const mean = tf.layers.average({ name: 'ensemble_mean' }).apply(outputs) as tf.SymbolicTensor;
  return {
    model: tf.model({ inputs: input, outputs: mean, name: `ensemble-${architecture}-${n}` }),
    members: tf.model({ inputs: input, outputs, name: `ensemble-${architecture}-${n}-members` }),
  };
}

/**
 * Fuses trained models with the same input shape into one graph whose output is the mean
 * of their logits (serving N models with one `predict`). The models' layers are shared,
 * not copied: dispose the fused model's owner models, not the fused model, when done.
 *
 * @throws UsageError `E_ENSEMBLE_SIZE` without at least one model; `E_ENSEMBLE_SHAPE` when input or output shapes differ.
 */
export function fuseModels(models: readonly tf.LayersModel[]): tf.LayersModel {
  const first = models[0];
  if (!first) throw new UsageError('E_ENSEMBLE_SIZE', 'fuseModels needs at least one model; pass the trained members.');
  const shape = first.inputs[0]?.shape.slice(1) ?? [];
  const classes = first.outputs[0]?.shape.at(-1);
  for (const m of models) {
    const s = m.inputs[0]?.shape.slice(1) ?? [];
    if (s.join(',') !== shape.join(',') || m.outputs[0]?.shape.at(-1) !== classes)
      throw new UsageError(
        'E_ENSEMBLE_SHAPE',
        `Ensemble members must share input shape [${shape.join(', ')}] and ${String(classes)} classes; '${m.name}' has [${s.join(', ')}] and ${String(m.outputs[0]?.shape.at(-1))}.`,
      );
  }
  const input = tf.input({ shape: shape as number[] });
  const outputs = models.map((m) => m.apply(input) as tf.SymbolicTensor);
  const output = outputs.length === 1 ? (outputs[0] as tf.SymbolicTensor) : (tf.layers.average().apply(outputs) as tf.SymbolicTensor);
  return tf.model({ inputs: input, outputs: output });
}

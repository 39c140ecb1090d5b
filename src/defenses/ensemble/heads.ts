/**
 * A multi-head ensemble: one shared trunk (an architecture without its last layer) and K
 * dense heads on the trunk's features, their logits averaged in the graph. Trained with the
 * same diversity regulariser as a fused ensemble of whole models (ensemble-diversity.ts),
 * it is the cheap end of the trade: the heads share every feature, so they disagree less
 * than independent members, but serving them costs one trunk pass and one small matmul
 * instead of K forward passes. The model has the fused ensemble's shape (an `Average` of
 * member logits on top), so the training objective, serving, the fused ensemble layer and
 * attacks treat it as one; attacks take gradients through every head via the mean.
 *
 * Reference: Lee et al., "Stochastic Multiple Choice Learning for Training Diverse Deep
 * Ensembles" (NeurIPS 2016), https://arxiv.org/abs/1606.07839, on shared-trunk heads;
 * Pang et al. (ICML 2019), https://arxiv.org/abs/1901.08846, for the diversity term.
 */
import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../../core/errors.js';
import { createRng } from '../../core/rng.js';
import { buildModel, type ArchitectureOptions } from '../../models/architectures.js';
import { MAX_ENSEMBLE_MEMBERS, type FusedEnsemble } from './fused.js';

/**
 * Builds an untrained multi-head model: the architecture's layers up to its last (dense)
 * layer as the trunk, that layer as head 0 and `heads - 1` more dense heads seeded from `seed`.
 *
 * @throws UsageError `E_ENSEMBLE_SIZE` for fewer than 2 or more than {@link MAX_ENSEMBLE_MEMBERS} heads;
 *   `E_UNKNOWN_ARCHITECTURE` for an unknown architecture; `E_ENSEMBLE_HEADS` for one whose last layer is not dense.
 * @example const { model, members } = buildMultiHead('cnn', { inputShape: [28, 28, 1], numClasses: 10, seed: 1, heads: 4 });
 */
export function buildMultiHead(architecture: string, options: ArchitectureOptions & { heads: number }): FusedEnsemble {
  const k = options.heads;
  if (!Number.isInteger(k) || k < 2 || k > MAX_ENSEMBLE_MEMBERS)
    throw new UsageError(
      'E_ENSEMBLE_SIZE',
      `A multi-head model needs between 2 and ${MAX_ENSEMBLE_MEMBERS} heads (got ${String(k)}); set heads to a whole number in that range.`,
      { details: { heads: k } },
    );
  const { heads: _heads, ...architectureOptions } = options;
  const seq = buildModel(architecture, architectureOptions);
  const layers = seq.layers;
  const last = layers[layers.length - 1] as tf.layers.Layer;
  if (last.getClassName() !== 'Dense')
    throw new UsageError(
      'E_ENSEMBLE_HEADS',
      `Architecture '${architecture}' does not end in a dense layer, so it has no head to repeat; use cnn, cnn-large, mlp or linear.`,
    );
  const input = tf.input({ shape: [...options.inputShape], name: 'heads_input' });
  let trunk = input;
  for (const layer of layers.slice(0, -1)) trunk = layer.apply(trunk) as tf.SymbolicTensor;
  // A seed stream apart from the architecture's own, so head i > 0 never repeats a trunk layer's initial weights.
  const rng = createRng(options.seed + 0x9e37);
  const outputs = [last.apply(trunk) as tf.SymbolicTensor];
  const features = trunk.shape[trunk.shape.length - 1] as number;
  for (let i = 1; i < k; i++) {
    const head = tf.layers.dense({
      inputShape: [features],
      units: options.numClasses,
      name: `head_${i}`,
      kernelInitializer: tf.initializers.glorotUniform({ seed: rng.seed() }),
    });
    // Built in a Sequential of its own first, as every trunk layer was: each layer then has two
    // nodes, so disposing `members` and then `model` (each drops one) frees it exactly once.
    tf.sequential({ layers: [head] });
    outputs.push(head.apply(trunk) as tf.SymbolicTensor);
  }
  const mean = tf.layers.average({ name: 'heads_mean' }).apply(outputs) as tf.SymbolicTensor;
  return {
    model: tf.model({ inputs: input, outputs: mean, name: `heads-${architecture}-${k}` }),
    members: tf.model({ inputs: input, outputs, name: `heads-${architecture}-${k}-members` }),
  };
}

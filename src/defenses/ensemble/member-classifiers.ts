/**
 * A fused or multi-head ensemble's members as white-box classifiers, for attacks that must
 * see every member (the adaptive stack attack's ensemble-disagreement margin): each member
 * is a sub-model over the ensemble's own layers and weights, differentiable in the input.
 */
import * as tf from '@tensorflow/tfjs';
import type { Bounds } from '../../core/types.js';
import type { Classifier } from '../../models/classifier.js';
import { TfjsClassifier } from '../../models/tfjs-classifier.js';
import { fusedMemberOutputs } from './fast-forward.js';

/**
 * One classifier per member of `model`, or undefined when `model` is not a fused ensemble.
 * The sub-models own no weights: do not dispose them (that would release the ensemble's
 * layers); disposing the ensemble frees everything.
 *
 * @example const members = fusedMemberClassifiers(model, { min: 0, max: 1 }); if (members) ensembleDetector(members);
 */
export function fusedMemberClassifiers(model: tf.LayersModel, bounds: Bounds): Classifier[] | undefined {
  const outputs = fusedMemberOutputs(model);
  const input = model.inputs[0];
  if (!outputs || !input) return undefined;
  return outputs.map(
    (output, i) =>
      new TfjsClassifier(tf.model({ inputs: input, outputs: output, name: `${model.name}-member-${i}` }), { id: `member-${i}`, bounds }),
  );
}

/** Standard empirical risk minimisation: mean softmax cross-entropy on clean inputs. */
import * as tf from '@tensorflow/tfjs';
import type { Objective } from './types.js';

export function standardObjective(): Objective {
  return {
    id: 'standard',
    poolLoss: 'standard',
    config: {},
    loss: (model, batch, prepared) => {
      const logits = model.apply(prepared, { training: true }) as tf.Tensor2D;
      return tf.losses.softmaxCrossEntropy(tf.oneHot(batch.y, logits.shape[1]), logits) as tf.Scalar;
    },
  };
}

/** Adapter from a TF.js LayersModel to the Classifier interface. */
import * as tf from '@tensorflow/tfjs';
import type { Bounds } from '../core/types.js';
import { InputError } from '../core/errors.js';
import type { Classifier } from './classifier.js';

export interface TfjsClassifierOptions {
  id?: string;
  bounds?: Bounds;
}

/** A Classifier backed by a TF.js LayersModel; owns nothing, the caller disposes the model. */
export class TfjsClassifier implements Classifier {
  readonly id: string;
  readonly inputShape: readonly number[];
  readonly numClasses: number;
  readonly bounds: Bounds;
  readonly differentiable = true;
  /** Models that end in softmax give probabilities; their log is a valid logit vector. */
  private readonly outputsProbabilities: boolean;

  constructor(
    readonly model: tf.LayersModel,
    options: TfjsClassifierOptions = {},
  ) {
    const input = model.inputs[0]?.shape;
    const output = model.outputs[0]?.shape;
    if (!input || !output || output.length !== 2 || typeof output[1] !== 'number') {
      throw new InputError(
        'E_MODEL_SHAPE',
        `Model '${model.name}' must take one input and output [batch, classes]; got output shape ${JSON.stringify(output)}.`,
      );
    }
    this.id = options.id ?? model.name;
    this.inputShape = input.slice(1).map((d) => {
      if (typeof d !== 'number')
        throw new InputError('E_MODEL_SHAPE', `Model '${model.name}' has an unknown input dimension; build it with a fixed inputShape.`);
      return d;
    });
    this.numClasses = output[1];
    this.bounds = options.bounds ?? { min: 0, max: 1 };
    const layers = model.layers;
    const last = layers[layers.length - 1];
    const activation = (last?.getConfig() as { activation?: string }).activation;
    this.outputsProbabilities = activation === 'softmax';
  }

  logits(x: tf.Tensor): tf.Tensor2D {
    const out = this.model.apply(x, { training: false }) as tf.Tensor2D;
    return this.outputsProbabilities ? tf.log(tf.clipByValue(out, 1e-12, 1)) : out;
  }
}

/**
 * An imported ONNX graph as a white-box {@link Classifier}: differentiable logits through
 * TF.js, owned constants freed by `dispose`. A graph that ends in Softmax gives
 * log-probabilities as logits (its last op runs as LogSoftmax), as `TfjsClassifier` does for
 * a softmax layer.
 */
import * as tf from '@tensorflow/tfjs';
import { DataError } from '../../core/errors.js';
import type { Bounds } from '../../core/types.js';
import type { Classifier } from '../classifier.js';
import { OnnxGraph } from './graph.js';
import type { ModelProto } from './proto.js';

export interface OnnxClassifierOptions {
  id?: string;
  bounds?: Bounds;
}

export class OnnxClassifier implements Classifier {
  readonly id: string;
  readonly inputShape: readonly number[];
  readonly numClasses: number;
  readonly bounds: Bounds;
  readonly differentiable = true;
  readonly access = 'gradients' as const;
  readonly graph: OnnxGraph;
  /** The graph's own output is probabilities (it ends in Softmax); `logits` returns their log. */
  readonly outputsProbabilities: boolean;

  /**
   * Builds the graph and runs it once on a batch of two zero inputs: the output must be
   * `[2, classes]` (a graph exported with a fixed batch of 1 fails here, not mid-attack).
   *
   * @throws DataError `E_ONNX_OUTPUT_SHAPE` when the output is not `[batch, classes]`; whatever the graph import throws.
   */
  constructor(model: ModelProto, path: string, options: OnnxClassifierOptions = {}) {
    this.graph = new OnnxGraph(model, path);
    this.id = options.id ?? (model.graph?.name || path);
    this.inputShape = this.graph.info.inputShape;
    this.bounds = options.bounds ?? { min: 0, max: 1 };
    this.outputsProbabilities = this.graph.finalSoftmax >= 0;
    let shape: number[] = [];
    try {
      shape = tf.tidy(() => this.graph.run(tf.zeros([2, ...this.inputShape])).shape);
    } catch (cause) {
      this.graph.dispose();
      throw cause;
    }
    if (shape.length !== 2 || shape[0] !== 2 || !(shape[1]! > 0)) {
      this.graph.dispose();
      throw new DataError(
        'E_ONNX_OUTPUT_SHAPE',
        `${path}: for a batch of 2 the output '${this.graph.info.outputName}' has shape [${shape.join(', ')}]; a classifier outputs [batch, classes]. ` +
          'If the batch is fixed to 1, re-export with a dynamic batch axis (torch.onnx.export(..., dynamic_axes={"input": {0: "batch"}})).',
        { details: { path, shape } },
      );
    }
    this.numClasses = shape[1]!;
  }

  /** Logits (log-probabilities when the graph ends in Softmax) of a `[batch, ...inputShape]` batch. */
  logits(x: tf.Tensor): tf.Tensor2D {
    return this.graph.run(x, { logSoftmax: true }) as tf.Tensor2D;
  }

  /**
   * Logits of a channels-last batch of an NCHW model (`[batch, h, w, c]` for inputShape
   * `[c, h, w]`): the first convolution takes it as it is, with no transpose.
   */
  logitsChannelsLast(x: tf.Tensor): tf.Tensor2D {
    return this.graph.run(x, { nhwc: true, logSoftmax: true }) as tf.Tensor2D;
  }

  /** The graph's own output (probabilities for a graph ending in Softmax): what onnxruntime returns. */
  forward(x: tf.Tensor): tf.Tensor2D {
    return this.graph.run(x) as tf.Tensor2D;
  }

  dispose(): void {
    this.graph.dispose();
  }
}

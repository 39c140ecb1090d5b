/**
 * An imported ONNX model as a trainable TF.js LayersModel: one layer holds the graph's
 * float initializers as variables (BatchNormalization statistics as non-trainable ones) and
 * runs the graph with them, behind the declared preprocessing. The trainer, its objectives
 * (adversarial training included) and `TfjsClassifier` take it like any LayersModel;
 * `exportOnnxWeights` writes the trained weights back into the ONNX file's bytes.
 *
 * The model is built in this process from the file: its topology cannot be reloaded
 * elsewhere (checkpoints, worker pools), so train it in-process and export the ONNX file.
 */
import * as tf from '@tensorflow/tfjs';
import { DataError } from '../../core/errors.js';
import { checkPreprocessing } from '../preprocess.js';
import { OnnxGraph } from './graph.js';
import type { OnnxSource } from './index.js';
import { decodeModel, onnx, DEFAULT_ONNX_LIMITS, type OnnxLimits } from './proto.js';

type LayerArgs = ConstructorParameters<typeof tf.layers.Layer>[0];

interface Prep {
  nchw: boolean;
  scale: number;
  mean?: tf.Tensor;
  invStd?: tf.Tensor;
}

class OnnxGraphLayer extends tf.layers.Layer {
  static readonly className = 'RampartOnnxGraph';
  readonly variables: tf.LayerVariable[] = [];

  constructor(
    private readonly graph: OnnxGraph,
    private readonly numClasses: number,
    private readonly prep: Prep,
    args: LayerArgs,
  ) {
    super(args);
  }

  override build(): void {
    this.graph.weights.forEach((w, i) => {
      this.variables.push(this.addWeight(`w${i}`, [...w.shape], 'float32', tf.initializers.zeros(), undefined, w.trainable));
    });
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [shape[0] ?? null, this.numClasses];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      let x = Array.isArray(inputs) ? inputs[0]! : inputs;
      if (this.prep.scale !== 1) x = tf.mul(x, this.prep.scale);
      if (this.prep.mean) x = tf.sub(x, this.prep.mean);
      if (this.prep.invStd) x = tf.mul(x, this.prep.invStd);
      const weights = new Map(this.graph.weights.map((w, i) => [w.name, this.variables[i]!.read()]));
      return this.graph.run(x, { nhwc: this.prep.nchw, logSoftmax: true, weights });
    });
  }
}

const copies = new WeakMap<tf.LayersModel, { source: OnnxSource; trainable: TrainableOnnx }>();

/**
 * The ONNX source and trainable copy behind `model`, when `trainableOnnx` built it. Its
 * topology cannot be rebuilt elsewhere, so a worker pool ships it as an ONNX file instead
 * (`exportOnnxWeights`).
 */
export function trainableOnnxOf(model: tf.LayersModel): { source: OnnxSource; trainable: TrainableOnnx } | undefined {
  return copies.get(model);
}

/** A trainable copy of an ONNX model and what to free when done. */
export interface TrainableOnnx {
  /** Takes data-unit NHWC batches, outputs logits (log-probabilities when the graph ends in Softmax). */
  readonly model: tf.LayersModel;
  /** The graph's weights as the model's variables, in `graph.weights` order. */
  readonly variables: readonly tf.LayerVariable[];
  dispose(): void;
}

/**
 * Builds a trainable LayersModel from ONNX bytes, with the graph's weights as its variables.
 *
 * @throws what `importOnnx` throws (unsupported ops, malformed or oversized files, bad preprocessing).
 * @example
 * const trainable = trainableOnnx(source);
 * const objective = createObjective('pgd-at', { threat: { norm: 'linf', epsilon: 0.3 } });
 * await trainModel({ model: trainable.model, train, epochs: 1, batchSize: 64, optimizer: 'adam', learningRate: 1e-3, seed: 1, objective });
 * writeFileSync('trained.onnx', exportOnnxWeights(source, trainable));
 */
export function trainableOnnx(source: OnnxSource, limits: OnnxLimits = DEFAULT_ONNX_LIMITS): TrainableOnnx {
  const graph = new OnnxGraph(decodeModel(source.bytes, source.path, limits), source.path, { weights: true });
  const owned: tf.Tensor[] = [];
  try {
    const p = source.preprocess ?? {};
    checkPreprocessing(p, graph.info.inputShape, source.id);
    const s = graph.info.inputShape;
    const nchw = p.layout === 'nchw';
    const dataShape = nchw ? [s[1]!, s[2]!, s[0]!] : [...s];
    const out = tf.tidy(() => graph.run(tf.zeros([2, ...s])).shape);
    if (out.length !== 2 || out[0] !== 2) {
      throw new DataError(
        'E_ONNX_OUTPUT_SHAPE',
        `${source.path}: the output has shape [${out.join(', ')}] for a batch of 2; a classifier outputs [batch, classes].`,
      );
    }
    const prep: Prep = { nchw, scale: p.scale ?? 1 };
    if (p.mean) owned.push((prep.mean = tf.tensor1d([...p.mean])));
    if (p.std) owned.push((prep.invStd = tf.tensor1d(p.std.map((v) => 1 / v))));
    const layer = new OnnxGraphLayer(graph, out[1]!, prep, { name: 'onnx_graph' });
    const input = tf.input({ shape: dataShape });
    const model = tf.model({ inputs: input, outputs: layer.apply(input) as tf.SymbolicTensor, name: 'onnx_model' });
    graph.weights.forEach((w, i) => {
      const t = tf.tensor(w.values, [...w.shape]);
      layer.variables[i]!.write(t);
      t.dispose();
    });
    const trainable: TrainableOnnx = {
      model,
      variables: layer.variables,
      dispose: () => {
        model.dispose();
        graph.dispose();
        tf.dispose(owned);
      },
    };
    copies.set(model, { source, trainable });
    return trainable;
  } catch (error) {
    graph.dispose();
    tf.dispose(owned);
    throw error;
  }
}

/**
 * The ONNX file of `source` with its weights replaced by the trainable copy's current
 * values: the trained model as an ONNX file (content-addressable, loadable as `onnx:` or
 * `onnxruntime:`).
 */
export function exportOnnxWeights(source: OnnxSource, trainable: TrainableOnnx): Uint8Array {
  const proto = decodeModel(source.bytes, source.path, { ...DEFAULT_ONNX_LIMITS, maxParameters: Number.MAX_SAFE_INTEGER });
  const graph = new OnnxGraph(proto, source.path, { weights: true });
  const byName = new Map(graph.weights.map((w, i) => [w.name, trainable.variables[i]!]));
  graph.dispose();
  for (const t of proto.graph!.initializer ?? []) {
    const v = byName.get(t.name ?? '');
    if (!v) continue;
    const values = v.read().dataSync() as Float32Array;
    const bytes = new Uint8Array(values.length * 4);
    const view = new DataView(bytes.buffer);
    values.forEach((x, i) => view.setFloat32(i * 4, x, true));
    t.dataType = onnx.TensorProto.DataType.FLOAT;
    t.floatData = [];
    t.doubleData = [];
    t.rawData = bytes;
  }
  return new Uint8Array(onnx.ModelProto.encode(proto).finish());
}

/**
 * CIFAR-shaped convolutional nets of the kind users bring (stride-2 convolutions, batch
 * normalisation, residual additions, depthwise convolutions, global average pooling), as
 * TF.js functional models that end in raw logits:
 *
 * - `resnet20`: ResNet-20 (He et al. 2016, CIFAR): a 3x3-16 stem, three stages of three
 *   basic blocks (16, 32, 64 channels; stride 2 at the start of stages 2 and 3, with 1x1
 *   strided projection shortcuts), global average pool, dense;
 * - `mobilenet-lite`: a 3x3-32 stem and five MobileNet-v1 blocks (depthwise 3x3 + BN + ReLU,
 *   pointwise 1x1 + BN + ReLU; 64, 128/s2, 128, 256/s2, 256), global average pool, dense.
 *
 * Layer names match scripts/torch_nets.py, which builds the same nets in PyTorch, so
 * `setNamedWeights` can load PyTorch's weights (bench:engine compares the two on them).
 * A strided 3x3 layer pads one pixel on every side, as PyTorch's `padding=1` does; TF.js's
 * 'same' would pad only the bottom and right at stride 2 and compute a different function.
 */
import * as tf from '@tensorflow/tfjs';
import { UsageError, listChoices } from '../core/errors.js';
import { createRng } from '../core/rng.js';

export const CNN_ZOO = ['resnet20', 'mobilenet-lite'] as const;
export type CnnZooId = (typeof CNN_ZOO)[number];

export interface CnnZooOptions {
  /** NHWC input shape without the batch, e.g. [32, 32, 3]. */
  inputShape: readonly [number, number, number];
  numClasses: number;
  seed: number;
}

type Sym = tf.SymbolicTensor;

function builder(seed: number) {
  const rng = createRng(seed);
  const init = () => tf.initializers.heNormal({ seed: rng.seed() });
  const apply = (layer: tf.layers.Layer, x: Sym | Sym[]) => layer.apply(x) as Sym;
  const bn = (name: string, x: Sym) => apply(tf.layers.batchNormalization({ name, axis: -1, momentum: 0.9, epsilon: 1e-5 }), x);
  const relu = (x: Sym) => apply(tf.layers.activation({ activation: 'relu' }), x);
  /** A bias-free k x k conv; stride 2 with k > 1 pads explicitly (PyTorch's symmetric padding). */
  const conv = (name: string, x: Sym, filters: number, kernelSize: number, strides: number) => {
    const padded = strides > 1 && kernelSize > 1;
    const input = padded ? apply(tf.layers.zeroPadding2d({ padding: [(kernelSize - 1) / 2, (kernelSize - 1) / 2] }), x) : x;
    const padding = padded || kernelSize === 1 ? 'valid' : 'same';
    return apply(tf.layers.conv2d({ name, filters, kernelSize, strides, padding, useBias: false, kernelInitializer: init() }), input);
  };
  const depthwise = (name: string, x: Sym, strides: number) => {
    const input = strides > 1 ? apply(tf.layers.zeroPadding2d({ padding: [1, 1] }), x) : x;
    const padding = strides > 1 ? 'valid' : 'same';
    return apply(tf.layers.depthwiseConv2d({ name, kernelSize: 3, strides, padding, useBias: false, depthwiseInitializer: init() }), input);
  };
  const head = (x: Sym, numClasses: number) =>
    apply(tf.layers.dense({ name: 'fc', units: numClasses, kernelInitializer: init() }), apply(tf.layers.globalAveragePooling2d({}), x));
  return { apply, bn, relu, conv, depthwise, head };
}

function resnet20({ inputShape, numClasses, seed }: CnnZooOptions): tf.LayersModel {
  const { apply, bn, relu, conv, head } = builder(seed);
  const input = tf.input({ shape: [...inputShape] });
  let x = relu(bn('stem_bn', conv('stem_conv', input, 16, 3, 1)));
  let cin = 16;
  for (let s = 1; s <= 3; s++) {
    const cout = 16 * 2 ** (s - 1);
    for (let b = 1; b <= 3; b++) {
      const stride = s > 1 && b === 1 ? 2 : 1;
      const p = `s${s}b${b}`;
      let y = relu(bn(`${p}_bn1`, conv(`${p}_conv1`, x, cout, 3, stride)));
      y = bn(`${p}_bn2`, conv(`${p}_conv2`, y, cout, 3, 1));
      const short = stride !== 1 || cin !== cout ? bn(`${p}_short_bn`, conv(`${p}_short`, x, cout, 1, stride)) : x;
      x = relu(apply(tf.layers.add({}), [y, short]));
      cin = cout;
    }
  }
  return tf.model({ inputs: input, outputs: head(x, numClasses), name: 'resnet20' });
}

/** (output channels, stride) of each depthwise-separable block. */
const MOBILE_BLOCKS: ReadonlyArray<readonly [number, number]> = [
  [64, 1],
  [128, 2],
  [128, 1],
  [256, 2],
  [256, 1],
];

function mobilenetLite({ inputShape, numClasses, seed }: CnnZooOptions): tf.LayersModel {
  const { bn, relu, conv, depthwise, head } = builder(seed);
  const input = tf.input({ shape: [...inputShape] });
  let x = relu(bn('stem_bn', conv('stem_conv', input, 32, 3, 1)));
  MOBILE_BLOCKS.forEach(([cout, stride], i) => {
    const p = `d${i + 1}`;
    x = relu(bn(`${p}_dwbn`, depthwise(`${p}_dw`, x, stride)));
    x = relu(bn(`${p}_pwbn`, conv(`${p}_pw`, x, cout, 1, 1)));
  });
  return tf.model({ inputs: input, outputs: head(x, numClasses), name: 'mobilenet-lite' });
}

/**
 * Builds an untrained CIFAR-shaped net.
 *
 * @throws UsageError `E_UNKNOWN_ARCHITECTURE` listing the valid ids.
 * @example
 * const model = buildCnnZooModel('resnet20', { inputShape: [32, 32, 3], numClasses: 10, seed: 1 });
 */
export function buildCnnZooModel(id: string, options: CnnZooOptions): tf.LayersModel {
  if (id === 'resnet20') return resnet20(options);
  if (id === 'mobilenet-lite') return mobilenetLite(options);
  throw new UsageError('E_UNKNOWN_ARCHITECTURE', `Unknown architecture '${id}'; use ${listChoices(CNN_ZOO)}.`, {
    details: { value: id, valid: CNN_ZOO },
  });
}

/**
 * Writes weights given by TF.js variable name (`layer/kernel`, `layer/gamma`, …) into the
 * model, each checked against the variable's shape; every weight of the model must be given.
 *
 * @throws UsageError `E_WEIGHTS_MISMATCH` naming the missing or misshapen weight.
 */
export function setNamedWeights(
  model: tf.LayersModel,
  byName: ReadonlyMap<string, { shape: readonly number[]; values: Float32Array }>,
): void {
  const tensors: tf.Tensor[] = [];
  try {
    for (const w of model.weights) {
      const given = byName.get(w.originalName);
      const same = given !== undefined && given.shape.length === w.shape.length && given.shape.every((d, i) => d === w.shape[i]);
      if (!same) {
        throw new UsageError(
          'E_WEIGHTS_MISMATCH',
          `Weight ${w.originalName} ${given ? `has shape [${given.shape}]` : 'is missing'}; the model needs [${w.shape}]. Export the weights from the same architecture.`,
          { details: { weight: w.originalName, expected: w.shape, got: given?.shape } },
        );
      }
      const t = tf.tensor(given.values, [...given.shape]);
      tensors.push(t);
      w.write(t);
    }
  } finally {
    tf.dispose(tensors);
  }
}

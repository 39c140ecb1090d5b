/**
 * The MNIST CNN fixture rebuilt as a native TF.js LayersModel from the same weights
 * (fixtures/onnx/mnist-cnn.weights.{json,bin}, PyTorch layouts): the reference the imported
 * graph is compared with. Shared by the parity test and bench/onnx.ts; not a test file.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';

export const ONNX_FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'onnx');

interface Manifest {
  weights: { name: string; shape: number[] }[];
}

/** The fixture's weights by PyTorch name, as tensors in PyTorch layouts (the caller disposes them). */
function readWeights(): Map<string, tf.Tensor> {
  const manifest = JSON.parse(readFileSync(join(ONNX_FIXTURES, 'mnist-cnn.weights.json'), 'utf8')) as Manifest;
  const bin = readFileSync(join(ONNX_FIXTURES, 'mnist-cnn.weights.bin'));
  const all = new Float32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength));
  const out = new Map<string, tf.Tensor>();
  let offset = 0;
  for (const w of manifest.weights) {
    const size = w.shape.reduce((p, d) => p * d, 1);
    out.set(w.name, tf.tensor(all.subarray(offset, offset + size), w.shape));
    offset += size;
  }
  return out;
}

/**
 * conv3x3-16, relu, pool2, conv3x3-32, relu, pool2, flatten, dense64, relu, dense10 in NHWC.
 * PyTorch flattens NCHW, so fc1's rows are permuted to the NHWC flatten order.
 */
export function nativeMnistCnn(): tf.LayersModel {
  const w = readWeights();
  const model = tf.sequential({
    name: 'mnist-cnn-native',
    layers: [
      tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 16, kernelSize: 3, activation: 'relu' }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: 32, kernelSize: 3, activation: 'relu' }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 64, activation: 'relu' }),
      tf.layers.dense({ units: 10 }),
    ],
  });
  const get = (name: string): tf.Tensor => w.get(name)!;
  const weights = tf.tidy(() => {
    const hwio = (t: tf.Tensor): tf.Tensor => tf.transpose(t, [2, 3, 1, 0]);
    // fc1.weight is [64, 32*5*5] over NCHW order (c, h, w); Keras flattens (h, w, c).
    const fc1 = tf.transpose(tf.reshape(tf.transpose(tf.reshape(get('fc1.weight'), [64, 32, 5, 5]), [0, 2, 3, 1]), [64, 800]));
    return [
      hwio(get('conv1.weight')),
      get('conv1.bias'),
      hwio(get('conv2.weight')),
      get('conv2.bias'),
      fc1,
      get('fc1.bias'),
      tf.transpose(get('fc2.weight')),
      get('fc2.bias'),
    ];
  });
  model.setWeights(weights);
  tf.dispose([...weights, ...w.values()]);
  return model;
}

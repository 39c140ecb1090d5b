/**
 * The cost of explaining one MNIST example with integrated gradients (50 steps, zeros
 * baseline, batches of 25 path points) on the CNN (`buildModel('cnn')`), as a ratio to one
 * forward+backward pass of one example measured in the same script. Rounds alternate the two
 * so machine load hits both alike; medians are reported.
 *
 * What to expect: 50 path points plus the two end points are 52 forward+backward passes of
 * one example if done one by one; batching the path into 2 passes of 25 makes IG cheaper
 * than that, so the ratio is well under 52 where batched kernels pay off.
 *
 *   npm run bench:explain [-- --rounds 7 --steps 50 --batch 25]
 */
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../src/engine/backend.js';
import { buildModel } from '../src/models/architectures.js';
import { TfjsClassifier } from '../src/models/tfjs-classifier.js';
import { explainInput } from '../src/eval/explain/explain.js';
import { median, positiveFlag, reportErrorsPlainly } from './support.js';

reportErrorsPlainly();
const rounds = positiveFlag('rounds', 7);
const steps = positiveFlag('steps', 50);
const batchSize = positiveFlag('batch', 25);

const info = await initEngine();
const model = buildModel('cnn', { inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
const classifier = new TfjsClassifier(model, { id: 'cnn' });
const x = tf.randomUniform([1, 28, 28, 1], 0, 1, 'float32', 3);
const pixels = (await x.data()) as Float32Array;
const onehot = tf.oneHot(tf.tensor1d([3], 'int32'), 10);
const gradient = tf.grad((input: tf.Tensor) => tf.sum(tf.mul(classifier.logits(input), onehot)));

/** One forward+backward pass of one example to its input, read back like IG reads its gradients. */
async function forwardBackward(): Promise<void> {
  const g = tf.tidy(() => gradient(x));
  await g.data();
  g.dispose();
}

async function ig(): Promise<number> {
  const a = await explainInput(classifier, pixels, { method: 'ig', steps, batchSize, target: 3 });
  return a.completenessError ?? NaN;
}

// Warm-up: kernels compiled, weights uploaded.
for (let i = 0; i < 3; i++) await forwardBackward();
await ig();

const reference: number[] = [];
const explained: number[] = [];
let completeness = 0;
const repeats = 20;
for (let r = 0; r < rounds; r++) {
  let t = performance.now();
  for (let i = 0; i < repeats; i++) await forwardBackward();
  reference.push((performance.now() - t) / repeats);
  t = performance.now();
  completeness = await ig();
  explained.push(performance.now() - t);
}
const pass = median(reference);
const cost = median(explained);
console.log(`backend ${info.backend}; ${rounds} alternating rounds, medians`);
console.log(`one forward+backward pass (1 example): ${pass.toFixed(2)} ms`);
console.log(
  `IG ${steps} steps, batches of ${batchSize} (1 example): ${cost.toFixed(1)} ms = ${(cost / pass).toFixed(1)}× one pass (${steps + 2} passes one by one would be ${steps + 2}×)`,
);
console.log(`IG completeness error on this example: ${(completeness * 100).toFixed(3)}%`);
tf.dispose([x, onehot]);
model.dispose();

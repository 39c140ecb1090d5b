/**
 * ONNX importer benchmark.
 *
 * (a) Speed: forward + backward to the input (the cost of one gradient-attack step:
 *     cross-entropy of the logits, its gradient with respect to the batch) of the imported
 *     MNIST CNN fixture (fixtures/onnx/mnist-cnn.onnx, a PyTorch export, behind `layout:
 *     'nchw'` preprocessing so it takes the same NHWC batch) against the same weights as a
 *     native TF.js LayersModel (test/onnx-native.ts). Rounds alternate the two (imported
 *     first in odd rounds, native first in even ones); each round records the median of
 *     --reps timed runs of each, and the reported ratio is the median of the per-round
 *     ratios, so a drift in machine speed does not land on one side. Target: ≤ 1.2×. The
 *     trainable copy (`trainableOnnx`, what adversarial training runs) is timed too.
 * (b) Agreement: the largest absolute difference between the imported graph's output and
 *     onnxruntime's, on --samples seeded uniform [0,1) inputs, for every fixture.
 *
 * Results: a table on stdout and bench/results/onnx.json.
 *
 * Run: npm run bench:onnx -- [--batch 128] [--reps 9] [--rounds 5] [--samples 64]
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import * as tf from '@tensorflow/tfjs';

import { createRng } from '../src/core/rng.js';
import { initEngine } from '../src/engine/backend.js';
import type { OnnxClassifier } from '../src/models/onnx/classifier.js';
import { loadOnnxModel } from '../src/models/onnx/index.js';
import { trainableOnnx } from '../src/models/onnx/trainable.js';
import { loadOrt } from '../src/models/onnxruntime/index.js';
import { TfjsClassifier } from '../src/models/tfjs-classifier.js';
import type { Classifier } from '../src/models/classifier.js';
import { nativeMnistCnn, ONNX_FIXTURES } from '../test/onnx-native.js';
import { median, positiveFlag, reportErrorsPlainly } from './support.js';

reportErrorsPlainly();

const HERE = path.dirname(fileURLToPath(import.meta.url));
const BATCH = positiveFlag('batch', 128);
const REPS = positiveFlag('reps', 9);
const ROUNDS = positiveFlag('rounds', 5);
const SAMPLES = positiveFlag('samples', 64);
const FIXTURES = ['mnist-cnn', 'cifar-resnet', 'tabular-mlp'];

function uniform(n: number, seed: number): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: n }, () => rng.next());
}

/** One forward + input-gradient pass; reads the gradient so the work is really done. */
function step(model: Classifier, x: tf.Tensor, y: tf.Tensor): void {
  const g = tf.tidy(() => tf.grad((t: tf.Tensor) => tf.losses.softmaxCrossEntropy(y, model.logits(t)))(x));
  g.dataSync();
  g.dispose();
}

function medianMs(f: () => void, reps: number): number {
  f();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    f();
    times.push(performance.now() - t0);
  }
  return median(times);
}

interface Speed {
  importedMs: number;
  nativeMs: number;
  ratio: number;
  rounds: number[];
  /** The trainable copy (weights as variables, kernels converted per call), against the same native model. */
  trainableMs: number;
  trainableRatio: number;
}

async function speed(): Promise<Speed> {
  const native = nativeMnistCnn();
  const file = path.join(ONNX_FIXTURES, 'mnist-cnn.onnx');
  const loaded = await loadOnnxModel({ path: file, preprocess: { layout: 'nchw' } });
  const trainable = trainableOnnx({ bytes: readFileSync(file), path: file, id: 'trainable', preprocess: { layout: 'nchw' } });
  const copy = new TfjsClassifier(trainable.model);
  const reference = new TfjsClassifier(native);
  const x = tf.tensor(uniform(BATCH * 784, 1), [BATCH, 28, 28, 1]);
  const y = tf.oneHot(
    tf.tensor1d(
      Array.from({ length: BATCH }, (_, i) => i % 10),
      'int32',
    ),
    10,
  );
  const imported: number[] = [];
  const nat: number[] = [];
  const ratios: number[] = [];
  const copies: number[] = [];
  const copyRatios: number[] = [];
  // Warm-up: V8 tiers the wasm up over the first seconds.
  for (let i = 0; i < 5; i++) {
    step(loaded.classifier, x, y);
    step(reference, x, y);
  }
  for (let r = 0; r < ROUNDS; r++) {
    const runImported = (): number => medianMs(() => step(loaded.classifier, x, y), REPS);
    const runNative = (): number => medianMs(() => step(reference, x, y), REPS);
    let a: number;
    let b: number;
    if (r % 2 === 0) {
      a = runImported();
      b = runNative();
    } else {
      b = runNative();
      a = runImported();
    }
    imported.push(a);
    nat.push(b);
    ratios.push(a / b);
    const c = medianMs(() => step(copy, x, y), REPS);
    copies.push(c);
    copyRatios.push(c / b);
    console.log(
      `round ${r + 1}: imported ${a.toFixed(1)} ms, native ${b.toFixed(1)} ms, ratio ${(a / b).toFixed(3)}; trainable copy ${c.toFixed(1)} ms`,
    );
  }
  tf.dispose([x, y]);
  loaded.dispose();
  trainable.dispose();
  native.dispose();
  return {
    importedMs: median(imported),
    nativeMs: median(nat),
    ratio: median(ratios),
    rounds: ratios,
    trainableMs: median(copies),
    trainableRatio: median(copyRatios),
  };
}

async function agreement(name: string): Promise<{ fixture: string; maxAbsDiff: number; samples: number }> {
  const file = path.join(ONNX_FIXTURES, `${name}.onnx`);
  const loaded = await loadOnnxModel({ path: file });
  const model = loaded.classifier as OnnxClassifier;
  const shape = [SAMPLES, ...model.inputShape];
  const x = uniform(
    shape.reduce((p, d) => p * d, 1),
    2,
  );
  const ort = await loadOrt();
  const session = await ort.InferenceSession.create(readFileSync(file), { intraOpNumThreads: 1 });
  const theirs = (await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', x, shape) }))[session.outputNames[0]!]!
    .data as Float32Array;
  await session.release();
  const out = tf.tidy(() => model.forward(tf.tensor(x, shape)));
  const ours = await out.data();
  out.dispose();
  loaded.dispose();
  let diff = 0;
  for (let i = 0; i < ours.length; i++) diff = Math.max(diff, Math.abs(ours[i]! - theirs[i]!));
  return { fixture: name, maxAbsDiff: diff, samples: SAMPLES };
}

const info = await initEngine();
console.log(`backend ${info.backend}, batch ${BATCH}, ${ROUNDS} rounds of ${REPS} reps`);
const s = await speed();
console.log(
  `forward+backward (input gradient), MNIST CNN: imported ${s.importedMs.toFixed(1)} ms, native ${s.nativeMs.toFixed(1)} ms, ratio ${s.ratio.toFixed(3)} (target ≤ 1.2)`,
);
console.log(`trainable copy (weights as variables): ${s.trainableMs.toFixed(1)} ms, ratio to native ${s.trainableRatio.toFixed(3)}`);
const checks = [];
for (const name of FIXTURES) {
  const c = await agreement(name);
  checks.push(c);
  console.log(`${name}: max abs diff vs onnxruntime ${c.maxAbsDiff.toExponential(2)} on ${c.samples} inputs (target ≤ 1e-4)`);
}
mkdirSync(path.join(HERE, 'results'), { recursive: true });
writeFileSync(
  path.join(HERE, 'results', 'onnx.json'),
  `${JSON.stringify({ backend: info.backend, batch: BATCH, reps: REPS, speed: s, agreement: checks }, null, 2)}\n`,
);

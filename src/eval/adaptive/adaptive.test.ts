import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { takeFirst } from '../../data/index.js';
import { batchTensor } from '../../core/tensors.js';
import { fitOodDetector } from '../../defenses/ood/index.js';
import { buildModel } from '../../models/architectures.js';
import { TfjsClassifier } from '../../models/tfjs-classifier.js';
import { trainModel } from '../../training/trainer.js';
import { createAttack } from '../../attacks/registry.js';
import { threatModel } from '../../threats/threat-model.js';
import { abstainDetector, attackStack, bpda, ensembleDetector, evaluateDefendedStack, oodDetector, stackVerdicts } from './index.js';
import type { StackDetector } from './detectors.js';
import { engine, smallMnist, trainedMlp } from '../../../test/fixtures.js';

let model: TfjsClassifier;
let member: TfjsClassifier;
let detectors: StackDetector[];
const threat = threatModel({ norm: 'linf', epsilon: 0.1 });

before(async () => {
  await engine();
  model = await trainedMlp();
  const net = buildModel('mlp', { inputShape: [28, 28, 1], numClasses: 10, seed: 5 });
  await trainModel({
    model: net,
    train: takeFirst(smallMnist().train, 800),
    epochs: 1,
    batchSize: 64,
    optimizer: 'adam',
    learningRate: 2e-3,
    seed: 5,
  });
  member = new TfjsClassifier(net, { id: 'member' });
  const fit = takeFirst(smallMnist().train, 500);
  const logits = tf.tidy(() => model.logits(batchTensor(fit, 0, fit.count)));
  const values = (await logits.data()) as Float32Array;
  logits.dispose();
  const features = Array.from({ length: fit.count }, (_, i) => values.slice(i * 10, (i + 1) * 10));
  const ood = fitOodDetector({ features, labels: fit.y, numClasses: 10, source: 'logits', quantile: 0.95 });
  detectors = [abstainDetector({ threshold: 0.6 }), oodDetector(ood), ensembleDetector([member])];
});

const count = (s: Uint8Array): number => s.reduce((a, b) => a + b, 0);

test('BPDA: the forward pass of the layer, the gradient of the identity', async () => {
  const x = tf.tensor1d([0.2, 0.7, 1.4]);
  const g = tf.grad((t: tf.Tensor) =>
    tf.sum(
      tf.mul(
        bpda((u) => tf.round(u), t),
        tf.tensor1d([1, 2, 3]),
      ),
    ),
  )(x);
  assert.deepEqual(Array.from(await g.data()), [1, 2, 3], 'tf.round alone has a zero gradient');
  assert.deepEqual(Array.from(tf.tidy(() => bpda((u) => tf.round(u), x).dataSync())), [0, 1, 1]);
  x.dispose();
  g.dispose();
});

test('the stack attack misclassifies at least as often as the best bare-model attack, and beats detection more often than it', async () => {
  const data = takeFirst(smallMnist().test, 48);
  const x = batchTensor(data, 0, data.count);
  const labels = data.y;
  const tensors = tf.memory().numTensors;
  const bare = [{ id: 'fgsm' }, { id: 'pgd', options: { steps: 10 } }];
  let bestBare = 0;
  let bareEvades = 0;
  for (const spec of bare) {
    const r = await createAttack(spec.id, spec.options ?? {}).run(model, x, labels, threat, { seed: 0 });
    const mis = await stackVerdicts({ model, detectors }, r.adversarial, labels);
    bestBare = Math.max(bestBare, count(mis.misclassified));
    bareEvades = Math.max(bareEvades, count(mis.success));
    r.adversarial.dispose();
  }
  const stack = await attackStack({ model, detectors }, x, labels, threat, { bare, steps: 15, seed: 0 });
  const check = await stackVerdicts({ model, detectors }, stack.adversarial, labels);
  assert.deepEqual(check.success, stack.success, 'flags read at the returned points');
  const largest = tf.tidy(() => tf.max(tf.abs(tf.sub(stack.adversarial, x))).dataSync()[0] as number);
  assert.ok(largest <= 0.1 + 1e-6);
  stack.adversarial.dispose();
  assert.ok(count(stack.misclassified) >= bestBare, `stack ${count(stack.misclassified)} vs bare ${bestBare}`);
  assert.ok(count(stack.success) >= bareEvades, `evades all layers: adaptive ${count(stack.success)}, bare ${bareEvades}`);
  assert.ok(count(stack.success) > 0);
  assert.equal(tf.memory().numTensors, tensors, 'no tensors leak');
  x.dispose();
});

test('the ablation: bare, each layer, all layers; what each adds', async () => {
  const data = takeFirst(smallMnist().test, 32);
  const report = await evaluateDefendedStack({ model, detectors, data, threat, steps: 8, bare: [{ id: 'pgd', options: { steps: 8 } }] });
  assert.deepEqual(
    report.configs.map((c) => c.layers.join('+')),
    ['', 'abstain', 'ood', 'ensemble', 'abstain+ood+ensemble'],
  );
  const [bareConfig] = report.configs;
  assert.ok(bareConfig && bareConfig.attackSuccess.value === bareConfig.misclassified.value, 'no layers: success is misclassification');
  for (const c of report.configs) {
    assert.ok(c.attackSuccess.count <= c.misclassified.count);
    assert.ok(c.robustAccuracy.value <= report.cleanAccuracy.value);
  }
  assert.deepEqual(Object.keys(report.added), ['abstain', 'ood', 'ensemble']);
  assert.equal(report.robustAccuracy, report.configs[4]?.robustAccuracy);
});

import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { buildFusedEnsemble, fuseModels } from './fused.js';
import { trainModel } from '../../training/trainer.js';
import { ensembleDiversity, nonMaximalSimilarity } from '../../training/objectives/ensemble-diversity.js';
import { standardObjective } from '../../training/objectives/standard.js';
import { takeFirst } from '../../data/index.js';
import { TfjsClassifier } from '../../models/tfjs-classifier.js';
import { engine, smallMnist } from '../../../test/fixtures.js';
import { UsageError } from '../../core/errors.js';

before(engine);

test('a diversified ensemble trains as ONE model: its output is the mean of its members, diversity falls, no tensor leaks', async () => {
  const train = takeFirst(smallMnist().train, 256);
  const start = tf.memory().numTensors;
  const ensemble = buildFusedEnsemble('mlp', { inputShape: [28, 28, 1], numClasses: 10, seed: 3, members: 3 });
  const x = tf.tensor(train.x.slice(0, 64 * 784), [64, 28, 28, 1]);
  const y = tf.tensor1d(Array.from(train.y.slice(0, 64)), 'int32');
  const similarity = (): number => tf.tidy(() => nonMaximalSimilarity(ensemble.members.predict(x) as tf.Tensor2D[], y).dataSync()[0] ?? 1);
  const before = similarity();
  const counts: number[] = [];
  await trainModel({
    model: ensemble.model,
    train,
    epochs: 3,
    batchSize: 64,
    optimizer: 'adam',
    learningRate: 2e-3,
    seed: 3,
    objective: ensembleDiversity({ base: standardObjective(), members: ensemble.members, lambda: 1 }),
    onBatch: () => counts.push(tf.memory().numTensors),
  });
  const after = similarity();
  assert.ok(after < before, `the members' wrong-class predictions should grow apart: ${before} -> ${after}`);
  // One graph: the fused output is exactly the mean of the members' logits.
  const [fusedOut, memberOut] = tf.tidy(() => {
    const members = ensemble.members.predict(x) as tf.Tensor2D[];
    return [ensemble.model.predict(x) as tf.Tensor2D, tf.div(tf.addN(members), members.length)];
  });
  const gap = tf.tidy(() => tf.max(tf.abs(tf.sub(fusedOut as tf.Tensor, memberOut as tf.Tensor))).dataSync()[0] ?? 1);
  assert.ok(gap < 1e-5, `fused output differs from the members' mean by ${gap}`);
  tf.dispose([fusedOut as tf.Tensor, memberOut as tf.Tensor]);
  // The trainer reads one model; its trainable weights are all members' (3 x 3 dense layers, kernel and bias).
  assert.equal(ensemble.model.trainableWeights.length, 18);
  assert.equal(new Set(counts.slice(2)).size, 1, `tensor count drifted: ${counts.join(',')}`);
  const classifier = new TfjsClassifier(ensemble.model, { id: 'ensemble', bounds: { min: 0, max: 1 } });
  assert.equal(classifier.numClasses, 10);
  tf.dispose([x, y]);
  ensemble.members.dispose();
  ensemble.model.dispose();
  // The optimizer's slots and the weights are gone with the models.
  assert.ok(tf.memory().numTensors <= start, `tensors left: ${tf.memory().numTensors - start}`);
});

test('the ensemble size is bounded and fused members must share shapes', () => {
  assert.throws(
    () => buildFusedEnsemble('mlp', { inputShape: [4], numClasses: 2, seed: 1, members: 1 }),
    (e) => e instanceof UsageError && e.code === 'E_ENSEMBLE_SIZE',
  );
  assert.throws(
    () => buildFusedEnsemble('mlp', { inputShape: [4], numClasses: 2, seed: 1, members: 17 }),
    (e) => e instanceof UsageError,
  );
  const a = buildFusedEnsemble('linear', { inputShape: [4, 1], numClasses: 2, seed: 1, members: 2 }).model;
  const b = buildFusedEnsemble('linear', { inputShape: [5, 1], numClasses: 2, seed: 1, members: 2 }).model;
  assert.throws(
    () => fuseModels([a, b]),
    (e) => e instanceof UsageError && e.code === 'E_ENSEMBLE_SHAPE',
  );
  const fused = fuseModels([a, a]);
  const out = tf.tidy(
    () =>
      tf
        .sub(fused.predict(tf.ones([1, 4, 1])) as tf.Tensor, a.predict(tf.ones([1, 4, 1])) as tf.Tensor)
        .abs()
        .max()
        .dataSync()[0],
  );
  assert.ok((out ?? 1) < 1e-6);
  a.dispose();
  b.dispose();
});

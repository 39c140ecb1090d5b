import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { buildMultiHead } from './heads.js';
import { fusedHeads } from './fused-serve.js';
import { fusedEnsembleLayer } from './index.js';
import { trainModel } from '../../training/trainer.js';
import { ensembleDiversity, nonMaximalSimilarity } from '../../training/objectives/ensemble-diversity.js';
import { standardObjective } from '../../training/objectives/standard.js';
import { takeFirst } from '../../data/index.js';
import { loadClassifierModel, saveClassifierModel } from '../../models/store.js';
import { engine, smallMnist } from '../../../test/fixtures.js';
import { UsageError } from '../../core/errors.js';

before(engine);

const argmaxRows = (flat: Float32Array | Int32Array | Uint8Array, classes: number): number[] =>
  Array.from({ length: flat.length / classes }, (_, e) => {
    let best = 0;
    for (let c = 1; c < classes; c++) if ((flat[e * classes + c] as number) > (flat[e * classes + best] as number)) best = c;
    return best;
  });

test('a multi-head model trains on MNIST with the diversity term, and is served as one trunk pass whose scores match the graph', async () => {
  const { train, test: held } = smallMnist();
  const start = tf.memory().numTensors;
  const k = 4;
  const built = buildMultiHead('mlp', { inputShape: [28, 28, 1], numClasses: 10, seed: 5, heads: k });
  // One trunk: the MLP's two hidden layers once (kernel + bias each), then K heads.
  assert.equal(built.model.trainableWeights.length, 2 * 2 + 2 * k);
  const x = tf.tensor(held.x, [held.count, 28, 28, 1]);
  const y = tf.tensor1d(Array.from(held.y), 'int32');
  const similarity = (): number => tf.tidy(() => nonMaximalSimilarity(built.members.predict(x) as tf.Tensor2D[], y).dataSync()[0] ?? 1);
  const before = similarity();
  const counts: number[] = [];
  await trainModel({
    model: built.model,
    train: takeFirst(train, 512),
    epochs: 2,
    batchSize: 64,
    optimizer: 'adam',
    learningRate: 2e-3,
    seed: 5,
    objective: ensembleDiversity({ base: standardObjective(), members: built.members, lambda: 0.5 }),
    onBatch: () => counts.push(tf.memory().numTensors),
  });
  assert.equal(new Set(counts.slice(2)).size, 1, `tensor count drifted: ${counts.join(',')}`);
  assert.ok(similarity() < before, 'the heads should spread their wrong-class predictions apart');
  const mean = tf.tidy(() => (built.model.predict(x) as tf.Tensor).dataSync() as Float32Array);
  const perHead = tf.tidy(() => (built.members.predict(x) as tf.Tensor[]).map((t) => t.dataSync() as Float32Array));
  const accuracy = argmaxRows(mean, 10).filter((c, i) => c === held.y[i]).length / held.count;
  assert.ok(accuracy > 0.7, `accuracy ${accuracy}`);
  // Every head is a classifier on its own (else the disagreement layer would flag every clean input).
  for (const flat of perHead) {
    const own = argmaxRows(flat, 10).filter((c, i) => c === held.y[i]).length / held.count;
    assert.ok(own > 0.6, `a head is ${own} accurate on its own`);
  }

  // Saved and loaded as any model; served as the trunk once and the heads as one matmul, on this thread.
  const dir = await mkdtemp(join(tmpdir(), 'rampart-heads-'));
  await saveClassifierModel(built.model, dir, {
    architecture: 'heads:mlp',
    inputShape: [28, 28, 1],
    numClasses: 10,
    bounds: { min: 0, max: 1 },
  });
  const loaded = await loadClassifierModel(dir);
  const heads = fusedHeads(loaded.model, { dir });
  assert.ok(heads);
  assert.equal(heads.members, k);
  await heads.ready();
  assert.equal(heads.mode(), 'inline');
  const batch = { x: held.x, count: held.count, shape: [28, 28, 1] };
  const tensors = tf.memory().numTensors;
  const run = await heads.run(batch);
  for (let i = 0; i < 3; i++) await heads.run(batch);
  assert.equal(tf.memory().numTensors, tensors, 'serving leaked tensors');
  const gap = Math.max(...run.logits.flatMap((row, e) => Array.from(row, (v, c) => Math.abs(v - (mean[e * 10 + c] as number)))));
  assert.ok(gap < 1e-5, `served mean differs from the graph's by ${gap}`);
  run.memberLogits.forEach((flat, m) => {
    const headGap = Math.max(...Array.from(flat, (v, i) => Math.abs(v - ((perHead[m] as Float32Array)[i] as number))));
    assert.ok(headGap < 1e-5, `head ${m} differs from its graph output by ${headGap}`);
  });
  const wantLabels = perHead.map((flat) => argmaxRows(flat, 10));
  assert.deepEqual(
    run.memberLabels.map((l) => Array.from(l)),
    wantLabels,
  );

  // The disagreement layer's score, against a reference: the worst example's fraction of heads off the mean's class.
  const primary = argmaxRows(mean, 10);
  const reference = Math.max(...primary.map((c, e) => wantLabels.filter((labels) => labels[e] !== c).length / k));
  assert.ok(reference > 0, 'some test digit should split the heads (else the score check checks nothing)');
  const verdict = await fusedEnsembleLayer({ flagAt: 0.99 }).check({
    clientId: 'test',
    address: '127.0.0.1',
    model: { id: 'heads', kind: 'image', inputShape: [28, 28, 1], bounds: { min: 0, max: 1 }, numClasses: 10 },
    body: null,
    batch,
    output: { logits: run.logits, probabilities: run.logits, labels: Int32Array.from(primary), memberLabels: run.memberLabels },
  });
  assert.equal(verdict.score, Math.round(reference * 1000) / 1000);

  heads.dispose();
  loaded.model.dispose();
  tf.dispose([x, y]);
  built.members.dispose();
  built.model.dispose();
  assert.ok(tf.memory().numTensors <= start, `tensors left: ${tf.memory().numTensors - start}`);
  await rm(dir, { recursive: true, force: true });
});

test('a CNN trunk with heads is served to 1e-5 of its graph; the head count is bounded', async () => {
  const built = buildMultiHead('cnn', { inputShape: [28, 28, 1], numClasses: 10, seed: 2, heads: 3 });
  const heads = fusedHeads(built.model, { threads: false });
  assert.equal(heads?.members, 3);
  const batch = { x: smallMnist().test.x.slice(0, 3 * 784), count: 3, shape: [28, 28, 1] };
  const mean = tf.tidy(() => (built.model.predict(tf.tensor(batch.x, [3, 28, 28, 1])) as tf.Tensor).dataSync() as Float32Array);
  const run = heads?.runInline(batch);
  const gap = Math.max(...(run?.logits ?? []).flatMap((row, e) => Array.from(row, (v, c) => Math.abs(v - (mean[e * 10 + c] as number)))));
  assert.ok(gap < 1e-5, `gap ${gap}`);
  heads?.dispose();
  built.members.dispose();
  built.model.dispose();
  for (const count of [1, 17, 2.5])
    assert.throws(
      () => buildMultiHead('linear', { inputShape: [4], numClasses: 2, seed: 1, heads: count }),
      (e) => e instanceof UsageError && e.code === 'E_ENSEMBLE_SIZE',
    );
});

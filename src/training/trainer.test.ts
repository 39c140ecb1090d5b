import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { trainModel } from './trainer.js';
import { makeSchedule, parseSchedule } from './schedules.js';
import { buildModel } from '../models/architectures.js';
import { loadModel } from '../models/io/index.js';
import { takeFirst } from '../data/index.js';
import { engine, smallMnist } from '../../test/fixtures.js';
import { UsageError } from '../core/errors.js';

before(engine);

test('a CNN trains on wasm: loss falls, checkpoints are written each epoch, no tensor leaks', async () => {
  const train = takeFirst(smallMnist().train, 512);
  const model = buildModel('cnn', { inputShape: [28, 28, 1], numClasses: 10, seed: 5 });
  const dir = await mkdtemp(join(tmpdir(), 'rampart-train-'));
  const losses: number[] = [];
  const counts: number[] = [];
  const report = await trainModel({
    model,
    train,
    validation: takeFirst(smallMnist().test, 100),
    epochs: 3,
    batchSize: 64,
    optimizer: 'adam',
    learningRate: 2e-3,
    seed: 5,
    checkpointDir: dir,
    onBatch: (p) => {
      losses.push(p.loss);
      counts.push(tf.memory().numTensors);
    },
  });
  assert.equal(report.epochs.length, 3);
  assert.ok((report.epochs[2]?.loss ?? Infinity) < (report.epochs[0]?.loss ?? 0) * 0.8, `loss should fall: ${report.epochs.map((e) => e.loss)}`);
  assert.ok((report.epochs[2]?.validationAccuracy ?? 0) > 0.5);
  assert.deepEqual(await readdir(dir), ['epoch-001', 'epoch-002', 'epoch-003']);
  const { model: restored, metadata } = await loadModel(join(dir, 'epoch-003'));
  assert.equal(metadata.epoch, 3);
  restored.dispose();
  // After the first batch (optimizer slots are created lazily), the tensor count stays flat.
  assert.equal(new Set(counts.slice(2)).size, 1, `tensor count drifted: ${counts.join(',')}`);
  model.dispose();
});

test('the same seed gives the same weights', async () => {
  const train = takeFirst(smallMnist().train, 128);
  const run = async () => {
    const model = buildModel('mlp', { inputShape: [28, 28, 1], numClasses: 10, seed: 9 });
    await trainModel({ model, train, epochs: 1, batchSize: 32, optimizer: 'sgd', learningRate: 0.05, seed: 9 });
    const w = Array.from(model.getWeights()[0]?.dataSync() ?? []);
    model.dispose();
    return w;
  };
  assert.deepEqual(await run(), await run());
});

test('bad config fails with usage errors', async () => {
  const train = takeFirst(smallMnist().train, 32);
  const model = buildModel('linear', { inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
  await assert.rejects(trainModel({ model, train, epochs: 0, batchSize: 8, optimizer: 'adam', learningRate: 1e-3, seed: 1 }), (e: unknown) => e instanceof UsageError && e.code === 'E_EPOCHS');
  await assert.rejects(trainModel({ model, train, epochs: 1, batchSize: 8, optimizer: 'rmsprop' as 'adam', learningRate: 1e-3, seed: 1 }), /Unknown optimizer 'rmsprop'; use 'adam' or 'sgd'/);
  await assert.rejects(trainModel({ model, train, epochs: 1, batchSize: 8, optimizer: 'adam', learningRate: -1, seed: 1 }), /Learning rate/);
  model.dispose();
});

test('schedules', () => {
  const step = makeSchedule(parseSchedule('step:2,3:0.5'), 1, 4);
  assert.deepEqual([0, 1, 2, 3].map((e) => step(e, 0)), [1, 1, 0.5, 0.25]);
  const cosine = makeSchedule({ kind: 'cosine' }, 1, 2);
  assert.equal(cosine(0, 0), 1);
  assert.ok(Math.abs(cosine(1, 0) - 0.5) < 1e-12);
  assert.throws(() => parseSchedule('linear'), /'constant', 'cosine' or 'step/);
});

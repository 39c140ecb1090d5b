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
  assert.ok(
    (report.epochs[2]?.loss ?? Infinity) < (report.epochs[0]?.loss ?? 0) * 0.8,
    `loss should fall: ${report.epochs.map((e) => e.loss)}`,
  );
  assert.ok((report.epochs[2]?.validationAccuracy ?? 0) > 0.5);
  assert.deepEqual((await readdir(dir)).sort(), ['epoch-001', 'epoch-002', 'epoch-003', 'state']);
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

test('shift augmentation: same seed, same weights; the shifts change what is learned', async () => {
  const train = takeFirst(smallMnist().train, 128);
  const run = async (augment?: { shift: number }) => {
    const model = buildModel('mlp', { inputShape: [28, 28, 1], numClasses: 10, seed: 9 });
    await trainModel({
      model,
      train,
      epochs: 1,
      batchSize: 32,
      optimizer: 'sgd',
      learningRate: 0.05,
      seed: 9,
      ...(augment ? { augment } : {}),
    });
    const w = Array.from(model.getWeights()[0]?.dataSync() ?? []);
    model.dispose();
    return w;
  };
  const shifted = await run({ shift: 2 });
  assert.deepEqual(await run({ shift: 2 }), shifted);
  assert.notDeepEqual(await run(), shifted);
  const model = buildModel('linear', { inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
  await assert.rejects(
    trainModel({ model, train, epochs: 1, batchSize: 8, optimizer: 'adam', learningRate: 1e-3, seed: 1, augment: { shift: 20 } }),
    (e: unknown) => e instanceof UsageError && e.code === 'E_AUGMENT',
  );
  model.dispose();
});

test('bad config fails with usage errors', async () => {
  const train = takeFirst(smallMnist().train, 32);
  const model = buildModel('linear', { inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
  await assert.rejects(
    trainModel({ model, train, epochs: 0, batchSize: 8, optimizer: 'adam', learningRate: 1e-3, seed: 1 }),
    (e: unknown) => e instanceof UsageError && e.code === 'E_EPOCHS',
  );
  await assert.rejects(
    trainModel({ model, train, epochs: 1, batchSize: 8, optimizer: 'rmsprop' as 'adam', learningRate: 1e-3, seed: 1 }),
    /Unknown optimizer 'rmsprop'; use 'adam' or 'sgd'/,
  );
  await assert.rejects(
    trainModel({ model, train, epochs: 1, batchSize: 8, optimizer: 'adam', learningRate: -1, seed: 1 }),
    /Learning rate/,
  );
  model.dispose();
});

test('schedules', () => {
  const step = makeSchedule(parseSchedule('step:2,3:0.5'), 1, 4);
  assert.deepEqual(
    [0, 1, 2, 3].map((e) => step(e, 0)),
    [1, 1, 0.5, 0.25],
  );
  const cosine = makeSchedule({ kind: 'cosine' }, 1, 2);
  assert.equal(cosine(0, 0), 1);
  assert.ok(Math.abs(cosine(1, 0) - 0.5) < 1e-12);
  assert.throws(() => parseSchedule('linear'), /'constant', 'cosine', 'one-cycle\[:PEAK\]' or 'step/);
  const cycle = makeSchedule(parseSchedule('one-cycle:0.5'), 0.2, 4);
  assert.deepEqual(
    [cycle(0, 0), cycle(1, 0), cycle(2, 0), cycle(3, 0)].map((v) => +v.toFixed(10)),
    [0, 0.1, 0.2, 0.1],
  );
  assert.throws(() => parseSchedule('one-cycle:2'), /peakAt/);
});

test('a run killed after epoch 2 resumes and ends with the same weights as an uninterrupted run', async () => {
  const { spawnSync } = await import('node:child_process');
  const { readFile } = await import('node:fs/promises');
  const child = new URL('../../test/fixtures/train-child.ts', import.meta.url).pathname;
  const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', child, ...args], { encoding: 'utf8' });
  const base = await mkdtemp(join(tmpdir(), 'rampart-resume-'));
  const straight = run(join(base, 'straight'), '-', join(base, 'straight.json'));
  assert.equal(straight.status, 0, straight.stderr);
  const killed = run(join(base, 'killed'), '2');
  assert.equal(killed.signal, 'SIGKILL', 'the child should die mid-run');
  assert.deepEqual((await readdir(join(base, 'killed'))).filter((f) => f.startsWith('epoch')).sort(), ['epoch-001', 'epoch-002']);
  const resumed = run(join(base, 'killed'), '-', join(base, 'resumed.json'));
  assert.equal(resumed.status, 0, resumed.stderr);
  const a = JSON.parse(await readFile(join(base, 'straight.json'), 'utf8'));
  const b = JSON.parse(await readFile(join(base, 'resumed.json'), 'utf8'));
  assert.equal(b.report.resumedFrom, 2);
  assert.equal(b.report.epochs.length, 4);
  assert.deepEqual(b.weights, a.weights, 'resumed weights differ from the uninterrupted run');
  assert.deepEqual(b.report.best, a.report.best);
  // A rerun of a finished run does no work and changes nothing.
  const again = run(join(base, 'killed'), '-', join(base, 'again.json'));
  assert.equal(again.status, 0, again.stderr);
  assert.deepEqual(JSON.parse(await readFile(join(base, 'again.json'), 'utf8')).weights, a.weights);
});

test('a different configuration refuses to resume from foreign checkpoints', async () => {
  const train = takeFirst(smallMnist().train, 64);
  const dir = await mkdtemp(join(tmpdir(), 'rampart-mismatch-'));
  const model = buildModel('mlp', { inputShape: [28, 28, 1], numClasses: 10, seed: 2 });
  await trainModel({ model, train, epochs: 1, batchSize: 32, optimizer: 'adam', learningRate: 1e-3, seed: 2, checkpointDir: dir });
  await assert.rejects(
    trainModel({ model, train, epochs: 1, batchSize: 32, optimizer: 'adam', learningRate: 5e-3, seed: 2, checkpointDir: dir }),
    /different configuration/,
  );
  model.dispose();
});

test('robust validation keeps the best-robust weights; the guard rolls back a collapse', async () => {
  const { threatModel } = await import('../threats/threat-model.js');
  const { standardObjective } = await import('./objectives/standard.js');
  const train = takeFirst(smallMnist().train, 400);
  const validation = takeFirst(smallMnist().test, 100);
  const threat = threatModel({ norm: 'linf', epsilon: 0.05 });
  // Trains normally in epoch 1, then climbs the loss (gradient ascent) to wreck the model.
  const standard = standardObjective();
  const sabotage = {
    id: 'sabotage',
    config: {},
    loss: (m: tf.LayersModel, batch: Parameters<typeof standard.loss>[1], x: tf.Tensor) =>
      (batch.epoch === 0 ? standard.loss(m, batch, x) : tf.neg(standard.loss(m, batch, x))) as tf.Scalar,
  };
  const model = buildModel('mlp', { inputShape: [28, 28, 1], numClasses: 10, seed: 4 });
  const dir = await mkdtemp(join(tmpdir(), 'rampart-guard-'));
  const report = await trainModel({
    model,
    train,
    validation,
    objective: sabotage,
    epochs: 3,
    batchSize: 50,
    optimizer: 'adam',
    learningRate: 3e-3,
    seed: 4,
    checkpointDir: dir,
    overfitGuard: { data: takeFirst(train, 100), threat, steps: 3, drop: 0.2 },
    robustValidation: { threat, steps: 3 },
  });
  assert.equal(report.stopped?.epoch, 2, JSON.stringify(report.epochs));
  assert.match(report.stopped?.reason ?? '', /catastrophic overfitting/);
  assert.equal(report.epochs.length, 2);
  assert.equal(report.selection, 'best-robust');
  assert.equal(report.selectedEpoch, 1);
  const { model: epoch1 } = await loadModel(join(dir, 'epoch-001'));
  assert.deepEqual(
    Array.from(model.getWeights()[0]!.dataSync()),
    Array.from(epoch1.getWeights()[0]!.dataSync()),
    'weights are those of epoch 1',
  );
  epoch1.dispose();
  model.dispose();
});

test('data-parallel training on a 2-worker pool follows single-thread training', async () => {
  const { createWorkerPool } = await import('../execution/pool/index.js');
  const train = takeFirst(smallMnist().train, 256);
  const run = async (workers?: number) => {
    const model = buildModel('cnn', { inputShape: [28, 28, 1], numClasses: 10, seed: 6 });
    const pool = workers ? await createWorkerPool({ workers }) : undefined;
    try {
      const report = await trainModel({
        model,
        train,
        epochs: 1,
        batchSize: 64,
        optimizer: 'adam',
        learningRate: 1e-3,
        seed: 6,
        ...(pool ? { pool } : {}),
      });
      return { weights: model.getWeights().map((w) => Array.from(w.dataSync())), loss: report.epochs[0]!.loss };
    } finally {
      await pool?.close();
      model.dispose();
    }
  };
  const single = await run();
  const parallel = await run(2);
  assert.ok(Math.abs(single.loss - parallel.loss) < 1e-4, `${single.loss} vs ${parallel.loss}`);
  single.weights.forEach((w, i) => {
    const maxDiff = w.reduce((m, v, j) => Math.max(m, Math.abs(v - parallel.weights[i]![j]!)), 0);
    assert.ok(maxDiff < 1e-4, `weight ${i} differs by ${maxDiff}`);
  });
});

test('PGD-AT on a 2-worker pool runs the inner attack in the workers and follows single-thread training', async () => {
  const { createWorkerPool } = await import('../execution/pool/index.js');
  const { createObjective } = await import('./objectives/registry.js');
  const train = takeFirst(smallMnist().train, 128);
  // No random start: the inner PGD is then a per-example function, so shards cannot change it.
  const objective = () => createObjective('pgd-at', { threat: { norm: 'linf', epsilon: 0.1 }, steps: 3, randomStart: false });
  assert.ok(objective().spec, 'registry objectives carry a spec the workers rebuild');
  const run = async (workers?: number) => {
    const model = buildModel('mlp', { inputShape: [28, 28, 1], numClasses: 10, seed: 8 });
    const pool = workers ? await createWorkerPool({ workers }) : undefined;
    try {
      const report = await trainModel({
        model,
        train,
        objective: objective(),
        epochs: 1,
        batchSize: 64,
        optimizer: 'adam',
        learningRate: 1e-3,
        seed: 8,
        ...(pool ? { pool } : {}),
      });
      return { weights: model.getWeights().map((w) => Array.from(w.dataSync())), loss: report.epochs[0]!.loss };
    } finally {
      await pool?.close();
      model.dispose();
    }
  };
  const single = await run();
  const parallel = await run(2);
  assert.ok(Math.abs(single.loss - parallel.loss) < 1e-4, `${single.loss} vs ${parallel.loss}`);
  single.weights.forEach((w, i) => {
    const maxDiff = w.reduce((m, v, j) => Math.max(m, Math.abs(v - parallel.weights[i]![j]!)), 0);
    assert.ok(maxDiff < 1e-4, `weight ${i} differs by ${maxDiff}`);
  });
});

test('an empty validation split reports no validation accuracy (not 0%)', async () => {
  const train = takeFirst(smallMnist().train, 64);
  const model = buildModel('linear', { inputShape: [28, 28, 1], numClasses: 10, seed: 3 });
  const report = await trainModel({
    model,
    train,
    validation: takeFirst(smallMnist().test, 0),
    epochs: 1,
    batchSize: 32,
    optimizer: 'adam',
    learningRate: 1e-3,
    seed: 3,
  });
  assert.equal(report.epochs[0]?.validationAccuracy, undefined);
  model.dispose();
});

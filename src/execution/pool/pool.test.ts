/**
 * The worker pool against the single-process reference (shards and seeds: ../shards.test.ts): FGSM and seeded PGD give the same
 * per-example results with 1 and 2 workers, pool gradients equal `tf.variableGrads` of
 * the mean loss, worker errors come back typed and leave the pool usable, a crashed
 * worker is replaced, memory stays flat, and `close()` lets the process exit.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';

import * as tf from '@tensorflow/tfjs';

import { EngineError, GradientError, InputError, UsageError } from '../../core/errors.js';
import { initEngine } from '../../engine/backend.js';
import { buildModel } from '../../models/architectures.js';
import { threatModel } from '../../threats/threat-model.js';
import { createObjective, type ObjectiveOptions } from '../../training/objectives/registry.js';
import { standardObjective } from '../../training/objectives/standard.js';

import { applyPoolGradients, createWorkerPool, type PoolModelHandle, type WorkerExitEvent, type WorkerPool } from './index.js';
import { POOL_ROW as ROW, POOL_SHAPE as SHAPE, poolInputs as inputs, referenceAttack } from '../../../test/pool-support.js';

const LINF_01 = threatModel({ norm: 'linf', epsilon: 0.1 });

/** The model's own predictions, so every example starts correctly classified. */
async function predictions(model: tf.LayersModel, x: Float32Array, n: number): Promise<Int32Array> {
  const t = tf.tidy(() => tf.argMax(model.predict(tf.tensor(x, [n, ...SHAPE])) as tf.Tensor, 1));
  const out = Int32Array.from(await t.data());
  t.dispose();
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

describe('WorkerPool', () => {
  let mlp: tf.Sequential;
  let cnn: tf.Sequential;
  let one: WorkerPool;
  let two: WorkerPool;
  let mlpOne: PoolModelHandle;
  let mlpTwo: PoolModelHandle;
  const exits: WorkerExitEvent[] = [];
  const n = 100;
  const x = inputs(n, 1);
  let labels: Int32Array;
  const threat = threatModel({ norm: 'linf', epsilon: 0.1 });

  before(async () => {
    await initEngine();
    mlp = buildModel('mlp', { inputShape: SHAPE, numClasses: 10, seed: 5 });
    cnn = buildModel('cnn', { inputShape: SHAPE, numClasses: 10, seed: 6 });
    labels = await predictions(mlp, x, n);
    one = await createWorkerPool({ workers: 1, shardRows: 32 });
    two = await createWorkerPool({ workers: 2, shardRows: 32, onWorkerExit: (e) => exits.push(e) });
    mlpOne = await one.loadModel(mlp);
    mlpTwo = await two.loadModel(mlp);
  });

  after(async () => {
    await one?.close();
    await two?.close();
    mlp?.dispose();
    cnn?.dispose();
  });

  it('rejects a bad worker count', async () => {
    await assert.rejects(createWorkerPool({ workers: 0 }), (e: unknown) => e instanceof UsageError && e.code === 'E_POOL_OPTION');
  });

  it('FGSM: identical success flags and adversarial inputs with 1 and 2 workers and in a single process', async () => {
    const request = { attackId: 'fgsm', threat, x, labels, seed: 0 };
    const ref = await referenceAttack(mlp, 'fgsm', {}, x, labels, LINF_01, 0);
    const a = await one.attack(mlpOne, request);
    const b = await two.attack(mlpTwo, request);
    assert.ok(ref.success.some((s) => s === 1) && ref.success.some((s) => s === 0), 'a batch with both outcomes');
    for (const r of [a, b]) {
      assert.deepEqual(r.success, ref.success);
      assert.deepEqual(r.queries, ref.queries);
      assert.ok(maxAbsDiff(r.adversarial, ref.adversarial) <= 1e-6);
      assert.ok(maxAbsDiff(r.perturbation, ref.perturbation) <= 1e-6);
      assert.deepEqual(r.shape, [n, ...SHAPE]);
    }
    assert.deepEqual(a.success, b.success);
    assert.ok(maxAbsDiff(a.adversarial, b.adversarial) <= 1e-6);
  });

  it('FGSM targeted: shards carry their slice of the targets', async () => {
    const targets = labels.map((l) => (l + 1) % 10);
    const ref = await referenceAttack(mlp, 'fgsm', {}, x, labels, LINF_01, 0, targets);
    const b = await two.attack(mlpTwo, { attackId: 'fgsm', threat, x, labels, goal: { kind: 'targeted', targets } });
    assert.deepEqual(b.success, ref.success);
    assert.ok(maxAbsDiff(b.adversarial, ref.adversarial) <= 1e-6);
  });

  it('PGD with random start: the same results for 1 and 2 workers, by the per-shard seeds', async () => {
    const request = { attackId: 'pgd', attackOptions: { steps: 5, randomStart: true, restarts: 2 }, threat, x, labels, seed: 11 };
    const a = await one.attack(mlpOne, request);
    const b = await two.attack(mlpTwo, request);
    assert.deepEqual(a.success, b.success);
    assert.deepEqual(a.queries, b.queries);
    assert.ok(maxAbsDiff(a.adversarial, b.adversarial) <= 1e-6);
    // The seed matters (the test is not vacuous)...
    const c = await two.attack(mlpTwo, { ...request, seed: 12 });
    assert.ok(maxAbsDiff(c.adversarial, b.adversarial) > 1e-3);
    // ...and every point is inside the ball and the bounds.
    for (let i = 0; i < b.adversarial.length; i++) {
      const v = b.adversarial[i] as number;
      assert.ok(v >= 0 && v <= 1 && Math.abs(v - (x[i] as number)) <= 0.1 + 1e-6);
    }
  });

  it('PGD: a batch within one shard equals attack.run with the same seed', async () => {
    const small = x.subarray(0, 20 * ROW);
    const smallLabels = labels.subarray(0, 20);
    const ref = await referenceAttack(mlp, 'pgd', { steps: 3 }, small, smallLabels, LINF_01, 5);
    const b = await two.attack(mlpTwo, { attackId: 'pgd', attackOptions: { steps: 3 }, threat, x: small, labels: smallLabels, seed: 5 });
    assert.deepEqual(b.success, ref.success);
    assert.ok(maxAbsDiff(b.adversarial, ref.adversarial) <= 1e-6);
  });

  it('reports progress up to the whole batch', async () => {
    const seen: number[] = [];
    await two.attack(mlpTwo, {
      attackId: 'pgd',
      attackOptions: { steps: 2 },
      threat,
      x,
      labels,
      onProgress: (p) => seen.push(p.done / p.total),
    });
    assert.ok(seen.length >= 4);
    assert.equal(seen[seen.length - 1], 1);
    assert.ok(seen.every((v, i) => i === 0 || v >= (seen[i - 1] as number) - 1e-12));
  });

  it('gradients with 2 workers equal tf.variableGrads of the mean loss (CNN)', async () => {
    const handle = await two.loadModel(cnn);
    const m = 37; // odd, so the shards differ in size
    const bx = inputs(m, 2);
    const by = Int32Array.from({ length: m }, (_, i) => (i * 7) % 10);
    const pooled = await two.gradients(handle, { x: bx, labels: by });
    const xt = tf.tensor(bx, [m, ...SHAPE]);
    const yt = tf.tensor1d(by, 'int32');
    const variables = cnn.trainableWeights.map((w) => w.read() as tf.Variable);
    const { value, grads } = tf.variableGrads(
      () => standardObjective().loss(cnn, { x: xt, y: yt, epoch: 0, step: 0, seed: 0 }, xt),
      variables,
    );
    assert.ok(Math.abs(pooled.loss - ((await value.data())[0] as number)) <= 1e-5);
    assert.equal(pooled.gradients.length, variables.length);
    for (const [i, v] of variables.entries()) {
      assert.equal(pooled.names[i], v.name);
      const expected = await (grads[v.name] as tf.Tensor).data();
      assert.ok(maxAbsDiff(pooled.gradients[i] as Float32Array, expected) <= 1e-5, `gradient of ${v.name}`);
    }
    value.dispose();
    for (const g of Object.values(grads)) g.dispose();
    xt.dispose();
    yt.dispose();
    await two.unloadModel(handle);
  });

  it('trainStep matches optimizer.minimize on the main thread, and the broadcast reaches the workers', async () => {
    const mine = buildModel('cnn', { inputShape: SHAPE, numClasses: 10, seed: 9 });
    const twin = buildModel('cnn', { inputShape: SHAPE, numClasses: 10, seed: 9 });
    const handle = await two.loadModel(mine);
    const optA = tf.train.sgd(0.1);
    const optB = tf.train.sgd(0.1);
    const m = 24;
    const objective = standardObjective();
    for (let step = 0; step < 2; step++) {
      const bx = inputs(m, 10 + step);
      const by = Int32Array.from({ length: m }, (_, i) => (i + step) % 10);
      await two.trainStep(handle, mine, optA, { x: bx, labels: by });
      const xt = tf.tensor(bx, [m, ...SHAPE]);
      const yt = tf.tensor1d(by, 'int32');
      const vars = twin.trainableWeights.map((w) => w.read() as tf.Variable);
      tf.tidy(() => {
        optB.minimize(() => objective.loss(twin, { x: xt, y: yt, epoch: 0, step, seed: 0 }, xt), false, vars);
      });
      xt.dispose();
      yt.dispose();
    }
    const a = mine.getWeights();
    const b = twin.getWeights();
    for (const [i, w] of a.entries()) assert.ok(maxAbsDiff(await w.data(), await (b[i] as tf.Tensor).data()) <= 1e-5);
    // The workers hold the updated weights: their gradients equal the main model's now.
    const bx = inputs(8, 99);
    const by = Int32Array.from({ length: 8 }, (_, i) => i % 10);
    const pooled = await two.gradients(handle, { x: bx, labels: by });
    const xt = tf.tensor(bx, [8, ...SHAPE]);
    const yt = tf.tensor1d(by, 'int32');
    const { value } = tf.variableGrads(
      () => objective.loss(mine, { x: xt, y: yt, epoch: 0, step: 0, seed: 0 }, xt),
      mine.trainableWeights.map((w) => w.read() as tf.Variable),
    );
    assert.ok(Math.abs(pooled.loss - ((await value.data())[0] as number)) <= 1e-5);
    tf.dispose([value, xt, yt]);
    await two.unloadModel(handle);
    optA.dispose();
    optB.dispose();
    mine.dispose();
    twin.dispose();
  });

  it('adversarial objectives run in the workers: pooled PGD-AT gradients equal the main-thread ones', async () => {
    // The reference: the objective prepares (attacks) and scores the whole batch here.
    const local = async (spec: { id: string; options: ObjectiveOptions }, m: number, seed: number) => {
      const objective = createObjective(spec.id, spec.options);
      const xt = tf.tensor(x.subarray(0, m * ROW), [m, ...SHAPE]);
      const yt = tf.tensor1d(labels.subarray(0, m), 'int32');
      const batch = { x: xt, y: yt, epoch: 0, step: 0, seed };
      const prepared = objective.prepare ? await objective.prepare(mlp, batch) : xt;
      const { value, grads } = tf.variableGrads(
        () => objective.loss(mlp, batch, prepared),
        mlp.trainableWeights.map((w) => w.read() as tf.Variable),
      );
      const loss = (await value.data())[0] as number;
      const gradients = await Promise.all(
        mlp.trainableWeights.map(async (w) => Float32Array.from(await (grads[(w.read() as tf.Variable).name] as tf.Tensor).data())),
      );
      tf.dispose([xt, yt, prepared, value, ...Object.values(grads)]);
      return { loss, gradients };
    };
    const workersBefore = await two.memory();
    const m = 40;
    const sub = { x: x.slice(0, m * ROW), labels: labels.slice(0, m) };
    // Random start: one in-process worker gets the whole batch and the batch's own seed.
    const seeded = { id: 'pgd-at', options: { threat: { norm: 'linf' as const, epsilon: 0.1 }, steps: 3 } };
    const a = await one.gradients(mlpOne, { ...sub, objective: seeded, batch: { epoch: 0, step: 0, seed: 7 } });
    const ra = await local(seeded, m, 7);
    assert.ok(Math.abs(a.loss - ra.loss) <= 1e-5);
    a.gradients.forEach((g, i) => assert.ok(maxAbsDiff(g, ra.gradients[i] as Float32Array) <= 1e-5));
    // No random start: the attack is per-example deterministic, so two shards average to the whole batch.
    const fixed = { id: 'trades', options: { threat: { norm: 'linf' as const, epsilon: 0.1 }, steps: 2 } };
    const b = await two.gradients(mlpTwo, { ...sub, objective: { id: 'pgd-at', options: { ...seeded.options, randomStart: false } } });
    const rb = await local({ id: 'pgd-at', options: { ...seeded.options, randomStart: false } }, m, 0);
    assert.ok(Math.abs(b.loss - rb.loss) <= 1e-4);
    b.gradients.forEach((g, i) => assert.ok(maxAbsDiff(g, rb.gradients[i] as Float32Array) <= 1e-4));
    // TRADES runs in the workers too (its loss has a clean and an adversarial term).
    const c = await two.gradients(mlpTwo, { ...sub, objective: fixed });
    assert.ok(Number.isFinite(c.loss) && c.gradients.some((g) => g.some((v) => v !== 0)));
    assert.deepEqual(await two.memory(), workersBefore, 'no tensors left behind in the workers');
  });

  it('applyPoolGradients applies to the variables by name', async () => {
    const model = buildModel('linear', { inputShape: [3, 1], numClasses: 2, seed: 1 });
    const before = await model.getWeights()[0]?.data();
    const opt = tf.train.sgd(1);
    const names = model.trainableWeights.map((w) => (w.read() as tf.Variable).name);
    applyPoolGradients(opt, { names, shapes: [[3, 2], [2]], gradients: [new Float32Array(6).fill(1), new Float32Array(2)] });
    const afterValues = await model.getWeights()[0]?.data();
    assert.ok(before && afterValues);
    for (let i = 0; i < 6; i++) assert.ok(Math.abs((afterValues[i] as number) - ((before[i] as number) - 1)) < 1e-6);
    opt.dispose();
    model.dispose();
  });

  it('validates at the edge: bad ids, options and inputs throw the same typed errors as attack.run', async () => {
    await assert.rejects(
      two.attack(mlpTwo, { attackId: 'nope', threat, x, labels }),
      (e: unknown) => e instanceof UsageError && e.code === 'E_UNKNOWN_ATTACK',
    );
    await assert.rejects(
      two.attack(mlpTwo, { attackId: 'pgd', attackOptions: { stepz: 1 }, threat, x, labels }),
      (e: unknown) => e instanceof UsageError && e.code === 'E_ATTACK_OPTION',
    );
    const bad = labels.slice();
    bad[3] = 12;
    await assert.rejects(
      two.attack(mlpTwo, { attackId: 'fgsm', threat, x, labels: bad }),
      (e: unknown) => e instanceof InputError && e.code === 'E_LABEL_RANGE',
    );
    await assert.rejects(
      two.attack(mlpTwo, { attackId: 'fgsm', threat, x: x.subarray(1), labels }),
      (e: unknown) => e instanceof InputError,
    );
    await assert.rejects(
      two.gradients(mlpTwo, { x, labels, objective: { id: 'nope' } }),
      (e: unknown) => e instanceof UsageError && e.code === 'E_UNKNOWN_OBJECTIVE',
    );
    await assert.rejects(
      two.gradients(mlpTwo, { x, labels, objective: { id: 'pgd-at', options: { steps: 3 } } }),
      (e: unknown) => e instanceof UsageError && e.code === 'E_OBJECTIVE_OPTION',
    );
    const awp = { id: 'pgd-at', options: { threat: { norm: 'linf' as const, epsilon: 0.1 }, awp: true } };
    await assert.rejects(
      two.gradients(mlpTwo, { x, labels, objective: awp }),
      (e: unknown) => e instanceof UsageError && e.code === 'E_POOL_OBJECTIVE',
    );
  });

  it('a worker that throws returns a typed EngineError with the original code, and the pool keeps working', async () => {
    for (const [pool, handle] of [
      [one, mlpOne],
      [two, mlpTwo],
    ] as const) {
      const good = mlp.getWeights();
      // NaN weights make every logit and gradient NaN: the attack loop throws GradientError inside the worker.
      await pool.setWeights(
        handle,
        good.map((w) => new Float32Array(w.size).fill(NaN)),
      );
      await assert.rejects(pool.attack(handle, { attackId: 'fgsm', threat, x, labels }), (e: unknown) => {
        assert.ok(e instanceof EngineError, String(e));
        assert.equal(e.code, 'E_WORKER_FAILED');
        assert.equal(e.details.originalCode, 'E_GRADIENT_NONFINITE');
        assert.ok(e.cause instanceof GradientError);
        assert.equal(e.cause.code, 'E_GRADIENT_NONFINITE');
        assert.match(e.message, /NaN or infinite input gradients/);
        return true;
      });
      await pool.setWeights(handle, mlp);
      const ok = await pool.attack(handle, { attackId: 'fgsm', threat, x, labels });
      const ref = await referenceAttack(mlp, 'fgsm', {}, x, labels, LINF_01, 0);
      assert.deepEqual(ok.success, ref.success);
    }
  });

  it('keeps memory flat in the workers and on the main thread across repeated calls', async () => {
    const run = async (): Promise<void> => {
      await two.attack(mlpTwo, { attackId: 'pgd', attackOptions: { steps: 2 }, threat, x, labels, seed: 1 });
      await two.gradients(mlpTwo, { x, labels });
      await two.setWeights(mlpTwo, mlp);
      await one.attack(mlpOne, { attackId: 'fgsm', threat, x, labels });
      await one.gradients(mlpOne, { x, labels });
    };
    await run();
    const workersBefore = await two.memory();
    const mainBefore = tf.memory().numTensors;
    assert.deepEqual(await one.memory(), [mainBefore]);
    for (let i = 0; i < 3; i++) await run();
    assert.deepEqual(await two.memory(), workersBefore);
    assert.equal(tf.memory().numTensors, mainBefore);
    // Loading and unloading a model leaves nothing behind either.
    for (let i = 0; i < 2; i++) await two.unloadModel(await two.loadModel(cnn));
    assert.deepEqual(await two.memory(), workersBefore);
    assert.equal(tf.memory().numTensors, mainBefore);
  });

  it('a crashed worker is reported, its request fails typed, and a replacement with the current weights takes over', async () => {
    const request = { attackId: 'pgd', attackOptions: { steps: 40 }, threat, x, labels, seed: 3 };
    let crashed: Promise<void> | undefined;
    const running = two.attack(mlpTwo, {
      ...request,
      onProgress: () => {
        crashed ??= two.crashWorker(0);
      },
    });
    await assert.rejects(running, (e: unknown) => {
      assert.ok(e instanceof EngineError, String(e));
      assert.equal(e.code, 'E_WORKER_EXITED');
      assert.equal(e.details.exitCode, 70);
      return true;
    });
    await crashed;
    assert.deepEqual(
      exits.map((e) => [e.worker, e.exitCode]),
      [[0, 70]],
    );
    const again = await two.attack(mlpTwo, { ...request, attackOptions: { steps: 3 } });
    const ref = await one.attack(mlpOne, { ...request, attackOptions: { steps: 3 } });
    assert.deepEqual(again.success, ref.success);
    assert.ok(maxAbsDiff(again.adversarial, ref.adversarial) <= 1e-6);
    assert.equal((await two.memory()).length, 2);
  });

  it('close() during a running attack rejects it with E_POOL_CLOSED', async () => {
    const running = two.attack(mlpTwo, {
      attackId: 'pgd',
      attackOptions: { steps: 40 },
      threat,
      x,
      labels,
      onProgress: () => void two.close(),
    });
    await assert.rejects(running, (e: unknown) => e instanceof EngineError && e.code === 'E_POOL_CLOSED');
    await assert.rejects(
      two.attack(mlpTwo, { attackId: 'fgsm', threat, x, labels }),
      (e: unknown) => e instanceof EngineError && e.code === 'E_POOL_CLOSED',
    );
  });

  it('close() rejects later calls', async () => {
    const pool = await createWorkerPool({ workers: 1 });
    await pool.close();
    await pool.close();
    await assert.rejects(pool.memory(), (e: unknown) => e instanceof EngineError && e.code === 'E_POOL_CLOSED');
    await assert.rejects(pool.loadModel(mlp), (e: unknown) => e instanceof EngineError && e.code === 'E_POOL_CLOSED');
  });
});

describe('close()', () => {
  it('ends every worker thread, so a process that used a pool exits by itself', () => {
    const pool = new URL('./index.ts', import.meta.url).href;
    const backend = new URL('../../engine/backend.ts', import.meta.url).href;
    const arch = new URL('../../models/architectures.ts', import.meta.url).href;
    const script = `
      const { initEngine } = await import(${JSON.stringify(backend)});
      const { buildModel } = await import(${JSON.stringify(arch)});
      const { createWorkerPool } = await import(${JSON.stringify(pool)});
      await initEngine();
      const p = await createWorkerPool({ workers: 2 });
      const h = await p.loadModel(buildModel('linear', { inputShape: [2, 2], numClasses: 2, seed: 1 }));
      const g = await p.gradients(h, { x: new Float32Array(12).fill(0.5), labels: new Int32Array([0, 1, 0]) });
      await p.close();
      console.log('closed', g.gradients.length);
    `;
    const started = Date.now();
    const child = spawnSync(process.execPath, ['--import', import.meta.resolve('tsx'), '--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('../../..', import.meta.url)),
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(child.signal, null, `the child was killed after ${Date.now() - started} ms: it did not exit by itself`);
    assert.equal(child.status, 0, child.stderr);
    assert.match(child.stdout, /closed 2/);
  });
});

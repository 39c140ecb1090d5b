/**
 * The executor promise: the same rows, attack and seed give the same numbers in this
 * thread and on a worker pool, across several shards; a pool runs a model it cannot ship
 * (a wrapper) here; shard work is dispatched by registered kind; sessions leave no tensors.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../core/errors.js';
import { takeFirst } from '../data/index.js';
import { pgd } from '../attacks/image/pgd.js';
import { CalibratedClassifier } from '../models/calibrated-classifier.js';
import type { TfjsClassifier } from '../models/tfjs-classifier.js';
import { threatModel } from '../threats/threat-model.js';
import { engine, smallMnist, trainedMlp } from '../../test/fixtures.js';
import { createWorkerPool, localExecutor } from './create.js';
import { withSession, type RowsResult, type RowsWork } from './executor.js';
import { defaultHandlers } from './handlers/index.js';
import { HandlerRegistry, type ShardHandler } from './handlers/registry.js';
import type { WorkerPool } from './pool/pool.js';
import { PoolRuntime } from './pool/runtime.js';

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

function assertSame(a: RowsResult, b: RowsResult): void {
  assert.deepEqual(a.success, b.success);
  assert.deepEqual(a.queries, b.queries);
  assert.ok(maxAbsDiff(a.adversarial, b.adversarial) <= 1e-6, 'adversarial inputs');
  assert.ok(maxAbsDiff(a.perturbation, b.perturbation) <= 1e-6, 'perturbations');
}

describe('executors', () => {
  let pool: WorkerPool;
  let model: TfjsClassifier;
  let work: RowsWork;

  before(async () => {
    await engine();
    model = await trainedMlp();
    const data = takeFirst(smallMnist().test, 150);
    // Rows out of order and more than two shards of 64: the shards are cut from `rows`, not from the data.
    const rows = Array.from({ length: 140 }, (_, i) => (i * 37) % 150);
    work = {
      data,
      rows,
      threat: threatModel({ norm: 'linf', epsilon: 0.1 }),
      attack: { id: 'pgd', options: { steps: 4, restarts: 1 } },
      seed: 9,
    };
    pool = await createWorkerPool({ workers: 2, backend: 'wasm' });
  });
  after(async () => {
    await pool?.close();
  });

  it('seeded PGD over several shards: the local executor and a 2-worker pool give the same numbers', async () => {
    const here = await withSession(localExecutor(), model, (s) => s.runRows(work));
    const pooled = await withSession(pool, model, (s) => s.runRows(work));
    assert.ok(here.success.some((v) => v === 1) && here.success.some((v) => v === 0), 'both outcomes');
    assertSame(here, pooled);
    // A live attack object in this thread is the same attack as its id and options.
    const live = await withSession(localExecutor(), model, (s) => s.runRows({ ...work, attack: pgd({ steps: 4, restarts: 1 }) }));
    assertSame(here, live);
    // The seed matters, so the agreement above is not vacuous.
    const other = await withSession(localExecutor(), model, (s) => s.runRows({ ...work, seed: 10 }));
    assert.ok(maxAbsDiff(other.adversarial, here.adversarial) > 1e-3);
  });

  it('reports progress in rows, ending at all of them', async () => {
    const seen: number[] = [];
    await withSession(localExecutor({ shardRows: 32 }), model, (s) =>
      s.runRows({ ...work, onProgress: (done, total) => seen.push(done / total) }),
    );
    assert.equal(seen[seen.length - 1], 1);
    assert.ok(seen.every((v, i) => i === 0 || v >= (seen[i - 1] as number) - 1e-12));
  });

  it('a pool runs a classifier it cannot ship in this thread, with the same numbers', async () => {
    const wrapped = new CalibratedClassifier(model, 1);
    const session = await pool.open(wrapped);
    try {
      assert.deepEqual(session.execution, { workers: 1, shardRows: 64 });
      assertSame(await session.runRows(work), await withSession(pool, model, (s) => s.runRows(work)));
    } finally {
      await session.close();
    }
  });

  it('a pool refuses a live attack object: workers rebuild attacks from id and options', async () => {
    await withSession(pool, model, async (s) => {
      assert.deepEqual(s.execution, { workers: 2, shardRows: 64 });
      await assert.rejects(s.runRows({ ...work, attack: pgd() }), (e: unknown) => e instanceof UsageError && e.code === 'E_POOL_ATTACK');
    });
  });

  it('sessions leave no tensors behind, here or in the workers', async () => {
    const small = { ...work, rows: work.rows.slice(0, 70) };
    const run = async (): Promise<void> => {
      await withSession(localExecutor(), model, (s) => s.runRows(small));
      await withSession(pool, model, (s) => s.runRows(small));
    };
    await run();
    const main = tf.memory().numTensors;
    const workers = await pool.memory();
    await run();
    await run();
    assert.equal(tf.memory().numTensors, main);
    assert.deepEqual(await pool.memory(), workers);
  });
});

describe('handler registry', () => {
  it('refuses a kind twice and names the registered kinds for an unknown one', () => {
    const registry = defaultHandlers();
    assert.deepEqual(registry.kinds(), ['attack', 'gradients', 'certify', 'text-attack']);
    assert.throws(
      () => registry.register({ kind: 'attack', run: async () => null }),
      (e: unknown) => e instanceof UsageError && e.code === 'E_HANDLER_KIND',
    );
    assert.throws(
      () => registry.get('predict'),
      (e: unknown) =>
        e instanceof UsageError && e.code === 'E_UNKNOWN_HANDLER' && /'attack', 'gradients', 'certify' or 'text-attack'/.test(e.message),
    );
  });

  it('the pool runtime runs any registered kind against its model copy, and knows none itself', async () => {
    await engine();
    const source = (await trainedMlp()).model;
    const count: ShardHandler<{ rows: number }, { classes: number; rows: number }> = {
      kind: 'count-classes',
      run: async (target, payload) => ({ classes: target.classifier.numClasses, rows: payload.rows }),
    };
    const runtime = new PoolRuntime(new HandlerRegistry().register(count));
    const weights = new Float32Array(source.weights.reduce((s, w) => s + w.shape.reduce((a: number, b) => a * (b ?? 1), 1), 0));
    let offset = 0;
    for (const w of source.getWeights()) {
      weights.set(await w.data(), offset);
      offset += w.size;
    }
    const weightSpecs = source.weights.map((w) => ({ name: w.originalName, shape: [...w.shape] as number[], dtype: 'float32' as const }));
    await runtime.handle({
      op: 'load',
      handle: 1,
      topology: source.toJSON(null, false) as object,
      weightSpecs,
      weightData: weights.buffer,
      modelId: 'm',
      bounds: { min: 0, max: 1 },
    });
    try {
      assert.deepEqual(await runtime.handle({ op: 'run', kind: 'count-classes', handle: 1, payload: { rows: 3 } }), {
        classes: 10,
        rows: 3,
      });
      await assert.rejects(
        runtime.handle({ op: 'run', kind: 'attack', handle: 1, payload: {} }),
        (e: unknown) => e instanceof UsageError && e.code === 'E_UNKNOWN_HANDLER',
      );
    } finally {
      runtime.dispose();
    }
  });
});

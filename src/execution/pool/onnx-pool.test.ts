/**
 * An imported ONNX model on the worker pool: each worker imports the file's bytes again
 * (behind the same preprocessing), so seeded PGD gives the same rows on 2 worker threads as
 * in this thread, a replaced worker re-imports the model, and worker memory stays flat.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { initEngine } from '../../engine/backend.js';
import type { UsageError } from '../../core/errors.js';
import { smallMnist } from '../../../test/fixtures.js';
import { takeFirst } from '../../data/index.js';
import type { LoadedModel } from '../../models/sources/types.js';
import { loadOnnxModel } from '../../models/onnx/index.js';
import { loadOnnxRuntimeModel } from '../../models/onnxruntime/index.js';
import { trainableOnnx } from '../../models/onnx/trainable.js';
import { TfjsClassifier } from '../../models/tfjs-classifier.js';
import { readFileSync } from 'node:fs';
import { threatModel } from '../../threats/threat-model.js';
import { localExecutor } from '../create.js';
import type { RowsWork } from '../executor.js';
import { createWorkerPool, type WorkerPool } from './index.js';

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

const PATH = join(import.meta.dirname, '..', '..', '..', 'fixtures', 'onnx', 'mnist-cnn.onnx');

describe('WorkerPool with an imported ONNX model', () => {
  let pool: WorkerPool;
  let loaded: LoadedModel;
  const data = takeFirst(smallMnist().test, 40);
  const work = (seed: number): RowsWork => ({
    data,
    rows: [...Array(data.count).keys()],
    threat: threatModel({ norm: 'linf', epsilon: 0.15 }),
    attack: { id: 'pgd', options: { steps: 5 } },
    seed,
  });

  before(async () => {
    await initEngine();
    loaded = await loadOnnxModel({ path: PATH, preprocess: { layout: 'nchw' } });
    pool = await createWorkerPool({ workers: 2, shardRows: 16 });
  });

  after(async () => {
    await pool?.close();
    loaded?.dispose();
  });

  it('runs PGD rows on worker threads with the same results as in this thread, also after a worker crash', async () => {
    const local = await localExecutor({ shardRows: 16 }).open(loaded.classifier);
    const session = await pool.open(loaded.classifier);
    try {
      assert.equal(session.execution.workers, 2);
      const here = await local.runRows(work(4));
      const there = await session.runRows(work(4));
      assert.ok(here.success.some((s) => s === 1) && here.success.some((s) => s === 0), 'a batch with both outcomes');
      assert.deepEqual([...there.success], [...here.success]);
      assert.deepEqual([...there.adversarial], [...here.adversarial]);
      const before = await pool.memory();
      await pool.crashWorker(0);
      const again = await session.runRows(work(4));
      assert.deepEqual([...again.adversarial], [...here.adversarial]);
      const [, second] = await pool.memory();
      assert.equal(second, before[1], 'the surviving worker holds no more tensors than before');
    } finally {
      await session.close();
      await local.close();
    }
  });

  it('a trainable ONNX copy is shipped as an ONNX file of its current weights; its gradient sharding is refused', async () => {
    const trainable = trainableOnnx({ bytes: readFileSync(PATH), path: PATH, id: 'copy', preprocess: { layout: 'nchw' } });
    try {
      const model = new TfjsClassifier(trainable.model, { id: 'copy' });
      // Change the weights first: the workers must see these, not the file's.
      trainable.variables[0]!.write(trainable.variables[0]!.read().mul(0.5));
      const local = await localExecutor({ shardRows: 16 }).open(model);
      const session = await pool.open(model);
      try {
        assert.equal(session.execution.workers, 2);
        const here = await local.runRows(work(5));
        const there = await session.runRows(work(5));
        assert.deepEqual([...there.success], [...here.success]);
        assert.ok(maxDiff(there.adversarial, here.adversarial) < 1e-5);
      } finally {
        await session.close();
        await local.close();
      }
      await assert.rejects(pool.openGradients(trainable.model, model.bounds), (e: UsageError) => e.code === 'E_POOL_MODEL');
    } finally {
      trainable.dispose();
    }
  });

  it('a score target is not shipped: its rows run in this thread', async () => {
    const ort = await loadOnnxRuntimeModel({ path: PATH, preprocess: { layout: 'nchw' } });
    try {
      const session = await pool.open(ort.classifier);
      assert.equal(session.execution.workers, 1);
      await session.close();
    } finally {
      ort.dispose();
    }
  });
});

/**
 * A shard split across idle workers (fewer shards than workers, PGD/FGSM with one run): the
 * pieces draw the shard's random start and give, bit for bit, what `attack.run` gives on the
 * whole shard in this thread: adversarial points, success flags, perturbations and queries,
 * under L∞ and L2, untargeted and targeted, on an MLP and a CNN.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import * as tf from '@tensorflow/tfjs';

import { initEngine } from '../../engine/backend.js';
import { buildModel } from '../../models/architectures.js';
import { threatModel } from '../../threats/threat-model.js';

import { shardPieces, splittable } from './attack-shards.js';
import { createWorkerPool, type PoolModelHandle, type WorkerPool } from './index.js';
import { POOL_SHAPE as SHAPE, poolInputs as inputs, referenceAttack } from '../../../test/pool-support.js';

describe('pool: a shard split across idle workers', () => {
  let mlp: tf.Sequential;
  let cnn: tf.Sequential;
  let pool: WorkerPool;
  let handles: Map<tf.Sequential, PoolModelHandle>;
  const n = 24;
  const x = inputs(n, 3);
  let labels: Int32Array;

  before(async () => {
    await initEngine();
    mlp = buildModel('mlp', { inputShape: SHAPE, numClasses: 10, seed: 5 });
    cnn = buildModel('cnn', { inputShape: SHAPE, numClasses: 10, seed: 6 });
    labels = Int32Array.from(tf.tidy(() => tf.argMax(mlp.predict(tf.tensor(x, [n, ...SHAPE])) as tf.Tensor, 1)).dataSync());
    pool = await createWorkerPool({ workers: 2, shardRows: 64 });
    handles = new Map([
      [mlp, await pool.loadModel(mlp)],
      [cnn, await pool.loadModel(cnn)],
    ]);
  });

  after(async () => {
    await pool?.close();
    mlp?.dispose();
    cnn?.dispose();
  });

  it('cuts only when workers would idle, only splittable attacks, never below 4 rows a piece', () => {
    assert.deepEqual(
      shardPieces([[0, 24]], 2, true).map((p) => [p.start, p.end]),
      [
        [0, 12],
        [12, 24],
      ],
    );
    assert.equal(shardPieces([[0, 24]], 2, false).length, 1);
    assert.equal(
      shardPieces(
        [
          [0, 64],
          [64, 70],
        ],
        2,
        true,
      ).length,
      2,
    );
    assert.equal(shardPieces([[0, 6]], 2, true).length, 1);
    assert.equal(shardPieces([[0, 9]], 8, true).length, 2);
    assert.ok(splittable('pgd', {}) && splittable('pgd', { restarts: 1 }) && splittable('fgsm', {}));
    assert.ok(!splittable('pgd', { restarts: 2 }) && !splittable('apgd', {}) && !splittable('square', {}));
    assert.ok(!splittable('pgd', { eot: 8 }), 'EOT attacks a randomised model: its draws follow the batch');
  });

  for (const norm of ['linf', 'l2'] as const) {
    for (const [name, pick] of [
      ['MLP', () => mlp],
      ['CNN', () => cnn],
    ] as const) {
      it(`PGD with random start, ${norm}, ${name}: bit for bit attack.run on the whole shard`, async () => {
        const threat = threatModel({ norm, epsilon: norm === 'linf' ? 0.1 : 1 });
        const options = { steps: 4, randomStart: true };
        const ref = await referenceAttack(pick(), 'pgd', options, x, labels, threat, 7);
        const got = await pool.attack(handles.get(pick())!, { attackId: 'pgd', attackOptions: options, threat, x, labels, seed: 7 });
        assert.deepEqual(got.adversarial, ref.adversarial);
        assert.deepEqual(got.success, ref.success);
        assert.deepEqual(got.perturbation, ref.perturbation);
        assert.deepEqual(got.queries, ref.queries);
        // Not vacuous: the random start moved the points (another seed gives others).
        const other = await pool.attack(handles.get(pick())!, { attackId: 'pgd', attackOptions: options, threat, x, labels, seed: 8 });
        assert.notDeepEqual(other.adversarial, got.adversarial);
      });
    }
  }

  it('targeted, and a piece that is done at once: every row reports the whole shard queries', async () => {
    const threat = threatModel({ norm: 'linf', epsilon: 0.05 });
    // The first half is labelled wrongly, so its piece succeeds at the first check and stops;
    // unsplit, the loop runs on for the second half, and every row is charged for it.
    const wrong = labels.map((l, i) => (i < n / 2 ? (l + 1) % 10 : l));
    const options = { steps: 3, randomStart: false };
    const ref = await referenceAttack(mlp, 'pgd', options, x, wrong, threat, 2);
    assert.ok(
      ref.queries.every((q) => q === 4),
      'the unsplit loop ran all its steps',
    );
    const got = await pool.attack(handles.get(mlp)!, { attackId: 'pgd', attackOptions: options, threat, x, labels: wrong, seed: 2 });
    assert.deepEqual(got.queries, ref.queries);
    assert.deepEqual(got.adversarial, ref.adversarial);
    assert.deepEqual(got.success, ref.success);
    const targets = labels.map((l) => (l + 3) % 10);
    const tref = await referenceAttack(cnn, 'pgd', { steps: 3 }, x, labels, threat, 4, targets);
    const tgot = await pool.attack(handles.get(cnn)!, {
      attackId: 'pgd',
      attackOptions: { steps: 3 },
      threat,
      x,
      labels,
      seed: 4,
      goal: { kind: 'targeted', targets },
    });
    assert.deepEqual(tgot.adversarial, tref.adversarial);
    assert.deepEqual(tgot.success, tref.success);
    assert.deepEqual(tgot.queries, tref.queries);
  });
});

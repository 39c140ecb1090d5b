import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { buildModel } from '../../models/architectures.js';
import { loadClassifierModel, saveClassifierModel } from '../../models/store.js';
import { createRng } from '../../core/rng.js';
import { engine } from '../../../test/fixtures.js';
import type { GuardContext, ImageBatch } from '../layer.js';
import { ensembleLayer, loadParallelMembers, parallelEnsembleLayers } from './index.js';
import { startMemberPool } from './member-pool.js';
import { fastForward } from './fast-forward.js';

let work: string;
const dirs: string[] = [];
const shape = [28, 28, 1];

before(async () => {
  await engine();
  work = await mkdtemp(join(tmpdir(), 'rampart-ensemble-'));
  // An MLP (the dense fast path) and a CNN (the Layers API path), untrained: labels depend on the weights only.
  for (const [arch, seed] of [
    ['mlp', 2],
    ['cnn', 3],
  ] as const) {
    const dir = join(work, arch);
    const model = buildModel(arch, { inputShape: shape, numClasses: 10, seed });
    await saveClassifierModel(model, dir, { architecture: arch, inputShape: shape, numClasses: 10, bounds: { min: 0, max: 1 } });
    model.dispose();
    dirs.push(dir);
  }
});
after(async () => rm(work, { recursive: true, force: true }));

function batchOf(count: number, seed: number): ImageBatch {
  const rng = createRng(seed);
  return { x: Float32Array.from({ length: count * 784 }, () => rng.next()), count, shape };
}

/** Each member's logits through the model's own Layers API `apply`, the reference. */
async function reference(batch: ImageBatch): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (const dir of dirs) {
    const stored = await loadClassifierModel(dir);
    const logits = tf.tidy(() => stored.classifier.logits(tf.tensor(batch.x, [batch.count, ...shape])));
    out.push(logits.dataSync() as Float32Array);
    logits.dispose();
    stored.model.dispose();
  }
  return out;
}

test('the member thread returns the members logits and labels of the Layers API, also for coalesced requests', async () => {
  const pool = await startMemberPool(dirs, shape, [10, 10], { slots: 4 });
  try {
    const batches = [batchOf(3, 1), batchOf(1, 2), batchOf(5, 3)];
    // Submitted back to back: the thread may take them as one batch.
    const tickets = batches.map((b) => pool.submit(b));
    assert.ok(tickets.every((t) => t !== undefined));
    for (let i = 0; i < batches.length; i++) {
      const got = await pool.collect(tickets[i] as number, { wait: true });
      assert.ok(got, 'the thread answered');
      const want = await reference(batches[i] as ImageBatch);
      want.forEach((w, m) => {
        const gap = Math.max(...Array.from(w, (v, j) => Math.abs(v - (got.logits[m]?.[j] as number))));
        assert.ok(gap < 1e-5, `member ${m} logits differ by ${gap}`);
        const labels = Array.from({ length: w.length / 10 }, (_, e) => {
          const row = Array.from(w.subarray(e * 10, e * 10 + 10));
          return row.indexOf(Math.max(...row));
        });
        assert.deepEqual(Array.from(got.labels[m] ?? []), labels);
      });
    }
    // A ticket is collected once; a batch larger than a slot stays on the serving thread.
    assert.equal(await pool.collect(tickets[0] as number), undefined);
    assert.equal(pool.submit(batchOf(65, 4)), undefined);
  } finally {
    await pool.close();
  }
});

test('the dense fast path equals the model, and neither it nor the inline members leak tensors', async () => {
  const stored = await loadClassifierModel(dirs[0] as string);
  const x = tf.tensor(batchOf(4, 5).x, [4, ...shape]);
  const gap = tf.tidy(() => tf.max(tf.abs(tf.sub(fastForward(stored)(x), stored.classifier.logits(x)))).dataSync()[0] ?? 1);
  assert.ok(gap < 1e-5, `fast path differs by ${gap}`);
  x.dispose();
  stored.model.dispose();
  const parallel = await loadParallelMembers(dirs, shape, { threads: false });
  await parallel.ready();
  assert.equal(parallel.mode(), 'inline');
  assert.equal(parallel.reason(), 'threads are off');
  assert.equal(parallel.start(batchOf(1, 6)), undefined);
  const start = tf.memory().numTensors;
  for (let i = 0; i < 5; i++) await parallel.members[0]?.predictBatch?.(batchOf(2, i));
  assert.equal(tf.memory().numTensors, start);
  await parallel.dispose();
});

test('the parallel layers give the inline layer verdicts; a request that never collects does not hold its slot', async () => {
  const parallel = await loadParallelMembers(dirs, shape, { slots: 1, timeoutMs: 50 });
  await parallel.ready();
  assert.equal(parallel.mode(), 'thread', parallel.reason());
  try {
    const [start, layer] = parallelEnsembleLayers(parallel, { flagAt: 0.5 });
    const inline = ensembleLayer(parallel.members, { flagAt: 0.5 });
    const batch = batchOf(6, 7);
    const labels = await parallel.members[0]?.predictBatch?.(batch);
    // The served model agrees with the first member: every example has one of two members disagreeing (or none).
    const output = { labels: labels as Int32Array, logits: [], probabilities: [] };
    const ctx = (): GuardContext => ({
      clientId: 'c',
      address: '::1',
      model: { id: 'm', kind: 'image', inputShape: shape, bounds: { min: 0, max: 1 }, numClasses: 10 },
      body: {},
      batch,
    });
    const threaded = ctx();
    assert.equal((await start.check(threaded)).decision, 'pass');
    threaded.output = output;
    const plain = ctx();
    plain.output = output;
    assert.deepEqual(await layer.check(threaded), await inline.check(plain));
    // Started, never collected (say, a later input layer denied it): the one slot is busy, then reclaimed.
    assert.ok(parallel.start(batch));
    assert.equal(parallel.start(batch), undefined);
    await new Promise((resolve) => setTimeout(resolve, 120));
    const again = parallel.start(batch);
    assert.ok(again);
    assert.deepEqual(await again({ wait: true }), [labels, await parallel.members[1]?.predictBatch?.(batch)]);
  } finally {
    await parallel.dispose();
  }
});

test('a closed member thread answers nothing more: a pending collect resolves, later batches stay on the serving thread', async () => {
  const pool = await startMemberPool(dirs.slice(0, 1), shape, [10], { slots: 2 });
  const ticket = pool.submit(batchOf(2, 8));
  assert.ok(ticket !== undefined);
  const pending = pool.collect(ticket, { wait: true });
  await pool.close();
  // The thread either finished the batch before it stopped or the slot failed with it; either way no hang.
  const got = await pending;
  assert.ok(got === undefined || got.labels[0]?.length === 2);
  assert.equal(pool.submit(batchOf(1, 9)), undefined);
});

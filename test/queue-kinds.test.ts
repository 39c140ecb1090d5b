/**
 * Every kind of sharded work through the queue, against two real `rampart worker`
 * processes and a real redis-server: certification by randomized smoothing, a text attack
 * on a saved text filter (shipped by its files) and PGD on an imported ONNX model (shipped
 * as the file's bytes and preprocessing) give the local executor's numbers bit for bit;
 * certification and the text attack also equal the one-call algorithms they shard.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { createTextAttack } from '../src/attacks/text/registry.js';
import { createRng } from '../src/core/rng.js';
import { gatherRows } from '../src/core/tensors.js';
import { takeFirst } from '../src/data/index.js';
import { loadSavedTextFilter } from '../src/defenses/normalize-text/saved-filter.js';
import { certifiedAccuracy, certify, type CertifiedAccuracyReport } from '../src/eval/smoothing.js';
import { attackTexts, createWorkerPool, localExecutor, withSession, type RowsResult, type RowsWork } from '../src/execution/index.js';
import { createQueueExecutor, type QueueExecutor } from '../src/execution/queue/index.js';
import { loadOnnxModel } from '../src/models/onnx/index.js';
import { saveTextClassifier } from '../src/models/text/store.js';
import type { TfjsClassifier } from '../src/models/tfjs-classifier.js';
import { textThreatModel } from '../src/threats/text-threat.js';
import { threatModel } from '../src/threats/threat-model.js';
import { trainTextClassifier } from '../src/training/text/train.js';
import { engine, smallMnist, trainedMlp } from './fixtures.js';
import { redisMissing, startRedis, startWorker, type RedisProcess, type WorkerProcess } from './queue-support.js';

const skip = redisMissing();
if (skip) console.log(`# SKIP queue kind tests: ${skip}`);

function bytes(a: Float32Array | Int32Array | Uint8Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

function assertIdentical(a: RowsResult, b: RowsResult): void {
  for (const k of ['adversarial', 'success', 'perturbation', 'queries'] as const)
    assert.equal(Buffer.compare(bytes(a[k]), bytes(b[k])), 0, k);
}

/** A report without its wall-clock time. */
const numbers = ({ durationMs: _, ...rest }: CertifiedAccuracyReport): Omit<CertifiedAccuracyReport, 'durationMs'> => rest;

const WORKER_FLAGS = ['--lock-duration', '8000', '--stalled-interval', '2000'];

describe('queue: certification, text attacks and ONNX models', { skip }, () => {
  let redis: RedisProcess;
  let workers: WorkerProcess[] = [];
  let queue: QueueExecutor;
  let model: TfjsClassifier;
  let dir: string;

  before(async () => {
    await engine();
    dir = await mkdtemp(join(tmpdir(), 'rampart-queue-kinds-'));
    redis = await startRedis();
    [workers, model] = await Promise.all([Promise.all([0, 1].map(() => startWorker(redis.url, WORKER_FLAGS))), trainedMlp()]);
    queue = await createQueueExecutor({ url: redis.url, shardRows: 4, sweepMs: 300, backoffMs: 100 });
  });
  after(async () => {
    await queue?.close();
    for (const w of workers) w.kill();
    await Promise.all(workers.map((w) => w.exited));
    await redis?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('certifies through the queue with the local numbers bit for bit, which are the one-call CERTIFY per row', async () => {
    const data = takeFirst(smallMnist().test, 6);
    const options = { model, data, sigma: 0.25, n0: 10, n: 64, batchSize: 32, alpha: 0.01, seed: 5, radii: [0, 0.1], shardRows: 2 };
    const local = await certifiedAccuracy(options);
    const seen: number[] = [];
    const queued = await certifiedAccuracy({ ...options, executor: queue, onProgress: (p) => seen.push(p.done / p.total) });
    assert.deepEqual(numbers(queued), numbers(local));
    assert.equal(seen[seen.length - 1], 1, 'progress ends at all examples');
    // The shard size and the pool change nothing either.
    const pool = await createWorkerPool({ workers: 1 });
    try {
      assert.deepEqual(numbers(await certifiedAccuracy({ ...options, executor: pool, shardRows: 4 })), numbers(local));
    } finally {
      await pool.close();
    }
    // Row i is certified with the run generator's i-th seed, exactly as before sharding.
    const root = createRng(options.seed);
    for (let i = 0; i < data.count; i++) {
      const x = gatherRows(data, [i]);
      const [c] = await certify(model, x, { ...options, seed: root.seed() });
      x.dispose();
      assert.equal(local.examples[i]?.pALower, c?.pALower, `row ${i}`);
      assert.equal(local.examples[i]?.prediction, c?.prediction, `row ${i}`);
    }
    assert.match(workers.map((w) => w.stdout()).join(''), /start certify rows/);
  });

  it('attacks texts on a saved text filter through the queue with the results of one local call', async () => {
    const texts = ['free cash prize now', 'claim your free bonus', 'team meeting notes', 'project review tomorrow'];
    const labels = [1, 1, 0, 0];
    const { classifier } = await trainTextClassifier(
      { name: 't', texts: [...texts, ...texts], labels: [...labels, ...labels], classes: ['ham', 'spam'] },
      { epochs: 8, learningRate: 0.05, featurizer: { buckets: 256 }, seed: 1 },
    );
    const filterDir = join(dir, 'text-model');
    await saveTextClassifier(classifier, filterDir);
    classifier.dispose();
    const attacked = [
      'win free cash prize now today',
      'claim your free bonus money',
      'notes from the team meeting',
      'review of the project plan',
      'free prize claim now',
      'meeting tomorrow with the team',
      'cash bonus for you now',
    ];
    const work = {
      attack: { id: 'greedy', options: { maxQueries: 40 } },
      texts: attacked,
      labels: Int32Array.from([1, 1, 0, 0, 1, 0, 1]),
      threat: textThreatModel({ id: 'typos', maxWordFraction: 0.5, maxCharEditsPerWord: 2, families: ['typo', 'char-edit', 'leet'] }),
      seed: 7,
      shardRows: 3,
    };
    const saved = await loadSavedTextFilter(filterDir);
    const oneCall = await createTextAttack('greedy', { maxQueries: 40 }).run(saved.filter, attacked, work.labels, work.threat, { seed: 7 });
    saved.model.dispose();
    const filter = { kind: 'text-filter' as const, dir: filterDir };
    const local = await withSession(localExecutor(), filter, (s) => attackTexts(s, work));
    const queued = await withSession(queue, filter, (s) => attackTexts(s, work));
    assert.deepEqual(local, oneCall, 'shards of 3 give the one-call results');
    assert.deepEqual(queued, local);
    assert.ok(
      local.queries.every((q) => q > 0),
      'every text was queried',
    );
    assert.match(workers.map((w) => w.stdout()).join(''), /start text-attack rows/);
    assert.ok(local.success.includes(1) && local.success.includes(0), 'the attack breaks some texts, not all');
  });

  it('attacks an imported ONNX model through the queue with the local numbers bit for bit', async () => {
    const loaded = await loadOnnxModel({
      path: join(import.meta.dirname, '..', 'fixtures', 'onnx', 'mnist-cnn.onnx'),
      preprocess: { layout: 'nchw' },
    });
    try {
      const data = takeFirst(smallMnist().test, 12);
      const work: RowsWork = {
        data,
        rows: [...Array(data.count).keys()],
        threat: threatModel({ norm: 'linf', epsilon: 0.15 }),
        attack: { id: 'pgd', options: { steps: 3 } },
        seed: 4,
      };
      const before = tf.memory().numTensors;
      const local = await withSession(localExecutor({ shardRows: 4 }), loaded.classifier, (s) => s.runRows(work));
      const queued = await withSession(queue, loaded.classifier, (s) => s.runRows(work));
      assertIdentical(local, queued);
      // Shipped as ONNX (not run here for want of a codec): the workers ran its shards.
      assert.match(workers.map((w) => w.stdout()).join(''), /start attack rows/);
      assert.ok(
        local.success.some((v) => v === 1),
        'the attack flips some rows',
      );
      assert.equal(tf.memory().numTensors, before, 'no tensors left in this thread');
    } finally {
      loaded.dispose();
    }
  });
});

/**
 * The queue executor end to end: a real redis-server on a free loopback port and real
 * `rampart worker` processes. The same rows, attack and seed give the local executor's
 * numbers bit for bit with several workers even when one is SIGKILLed mid-job (its job
 * runs again elsewhere), and when Redis restarts empty mid-run; a shard that fails on
 * every attempt ends the run with its error code; a cancelled run leaves no jobs behind.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Queue } from 'bullmq';
import { takeFirst } from '../src/data/index.js';
import { localExecutor, withSession, type RowsResult, type RowsWork } from '../src/execution/index.js';
import { createQueueExecutor, queueName } from '../src/execution/queue/index.js';
import { redisOf } from '../src/execution/queue/artifacts.js';
import { buildModel } from '../src/models/architectures.js';
import { TfjsClassifier } from '../src/models/tfjs-classifier.js';
import { threatModel } from '../src/threats/threat-model.js';
import { engine, smallMnist, trainedMlp } from './fixtures.js';
import { redisMissing, startRedis, startWorker, type RedisProcess, type WorkerProcess } from './queue-support.js';

const skip = redisMissing();
if (skip) console.log(`# SKIP queue tests: ${skip}`);

/** Bit-for-bit equality of every result array. */
function assertIdentical(a: RowsResult, b: RowsResult): void {
  for (const k of ['adversarial', 'success', 'perturbation', 'queries'] as const) {
    const x = a[k];
    const y = b[k];
    assert.equal(
      Buffer.compare(Buffer.from(x.buffer, x.byteOffset, x.byteLength), Buffer.from(y.buffer, y.byteOffset, y.byteLength)),
      0,
      k,
    );
  }
}

const FAST = { sweepMs: 300, backoffMs: 100 };
// A lock longer than any attack step on a loaded machine (a busy worker cannot renew it mid-step), short enough to keep the test quick.
const WORKER_FLAGS = ['--lock-duration', '4000', '--stalled-interval', '1000'];

describe('queue executor', { skip }, () => {
  let redis: RedisProcess;
  let workers: WorkerProcess[] = [];
  let model: TfjsClassifier;
  let work: RowsWork;
  let local: RowsResult;

  before(async () => {
    await engine();
    model = await trainedMlp();
    const data = takeFirst(smallMnist().test, 150);
    // Rows out of order, shards of 16: six jobs, enough to spread over three workers and to kill one mid-run.
    const rows = Array.from({ length: 96 }, (_, i) => (i * 37) % 150);
    work = {
      data,
      rows,
      threat: threatModel({ norm: 'linf', epsilon: 0.1 }),
      attack: { id: 'pgd', options: { steps: 60, restarts: 2 } },
      seed: 9,
    };
    local = await withSession(localExecutor({ shardRows: 16 }), model, (s) => s.runRows(work));
    assert.ok(local.success.some((v) => v === 1) && local.success.some((v) => v === 0), 'both outcomes');
    redis = await startRedis();
    workers = await Promise.all([0, 1, 2].map(() => startWorker(redis.url, WORKER_FLAGS)));
  });
  after(async () => {
    for (const w of workers) w.kill();
    await Promise.all(workers.map((w) => w.exited));
    await redis?.stop();
  });

  it('gives the local numbers bit for bit with three workers, one SIGKILLed mid-job (its stalled job runs elsewhere)', async () => {
    const queue = await createQueueExecutor({ url: redis.url, shardRows: 16, ...FAST });
    try {
      const seen: number[] = [];
      const victim = workers[0] as WorkerProcess;
      const running = withSession(queue, model, (s) => s.runRows({ ...work, onProgress: (done, total) => seen.push(done / total) }));
      const [, jobId] = await victim.waitFor(/job (\S+) start/);
      victim.kill('SIGKILL');
      const queued = await running;
      assertIdentical(local, queued);
      assert.equal(seen[seen.length - 1], 1, 'progress ends at all rows');
      // The killed worker never finished its job; another worker ran it again.
      assert.doesNotMatch(victim.stdout(), new RegExp(`job ${jobId} done`));
      assert.ok(
        workers.slice(1).some((w) => new RegExp(`job ${jobId} done`).test(w.stdout())),
        `job ${jobId} was re-run by a live worker`,
      );
    } finally {
      await queue.close();
    }
    workers[0] = await startWorker(redis.url, WORKER_FLAGS);
  });

  it('ends a run whose shard fails on every attempt with that error code, leaving no job waiting', async () => {
    const queue = await createQueueExecutor({ url: redis.url, attempts: 2, ...FAST });
    const inspect = new Queue(queueName('wasm'), { connection: { host: '127.0.0.1', port: redis.port } });
    try {
      // A model no worker has cached yet.
      const fresh = new TfjsClassifier(buildModel('mlp', { inputShape: [28, 28, 1], numClasses: 10, seed: 11 }), { id: 'fresh' });
      await withSession(queue, fresh, async (session) => {
        // Something else overwrites the model's artifact under the session: every attempt of every shard fails.
        const client = await redisOf(inspect.client);
        for (const key of await client.keys('rampart:artifact:*')) await client.set(key, 'not the model');
        await assert.rejects(
          session.runRows({ ...work, rows: work.rows.slice(0, 40) }),
          (error: Error & { code?: string; details?: Record<string, unknown> }) => {
            assert.equal(error.code, 'E_QUEUE_ARTIFACT_DIGEST');
            assert.equal(error.details?.attempts, 2);
            return true;
          },
        );
      });
      assert.deepEqual(await inspect.getJobCounts('wait', 'delayed', 'active'), { wait: 0, delayed: 0, active: 0 });
    } finally {
      await queue.close();
      await inspect.close();
    }
  });

  it('publishes an artifact again when it expires under the session (a job added after Redis lost it), results unchanged', async () => {
    const queue = await createQueueExecutor({ url: redis.url, shardRows: 16, ...FAST });
    const inspect = new Queue(queueName('wasm'), { connection: { host: '127.0.0.1', port: redis.port } });
    try {
      const fresh = new TfjsClassifier(buildModel('mlp', { inputShape: [28, 28, 1], numClasses: 10, seed: 12 }), { id: 'fresh-2' });
      const freshLocal = await withSession(localExecutor({ shardRows: 16 }), fresh, (s) => s.runRows(work));
      const queued = await withSession(queue, fresh, async (session) => {
        // The session published the model; Redis loses it before any job is added.
        const client = await redisOf(inspect.client);
        for (const key of await client.keys('rampart:artifact:*')) await client.del(key);
        return session.runRows(work);
      });
      assertIdentical(freshLocal, queued);
      assert.ok(queue.resubmitted > 0, 'the shards whose model was gone were published and enqueued again');
    } finally {
      await queue.close();
      await inspect.close();
    }
  });

  it('cancelling a run rejects it with E_QUEUE_CANCELLED and removes its queued jobs', async () => {
    const queue = await createQueueExecutor({ url: redis.url, shardRows: 8, ...FAST });
    const inspect = new Queue(queueName('wasm'), { connection: { host: '127.0.0.1', port: redis.port } });
    try {
      const marks = workers.map((w) => w.stdout().length);
      const running = withSession(queue, model, (s) => s.runRows(work));
      const outcome = running.then(
        () => 'finished',
        (error: Error & { code?: string }) => error.code,
      );
      await Promise.race(workers.map((w, i) => w.waitFor(/job \S+ start/, { from: marks[i] as number })));
      await queue.cancel('the user pressed Ctrl-C');
      assert.equal(await outcome, 'E_QUEUE_CANCELLED');
      const counts = await inspect.getJobCounts('wait', 'delayed');
      assert.deepEqual(counts, { wait: 0, delayed: 0 });
    } finally {
      await queue.close();
      await inspect.close();
    }
  });

  it('survives Redis restarting empty mid-run: lost jobs and artifacts are published again, results unchanged', async () => {
    const queue = await createQueueExecutor({ url: redis.url, shardRows: 16, ...FAST });
    try {
      const marks = workers.map((w) => w.stdout().length);
      const running = withSession(queue, model, (s) => s.runRows({ ...work, seed: 9 }));
      await Promise.race(workers.map((w, i) => w.waitFor(/job \S+ done/, { from: marks[i] as number })));
      redis = await redis.restart();
      assertIdentical(local, await running);
      assert.ok(queue.resubmitted > 0, 'shards lost in the restart were enqueued again');
    } finally {
      await queue.close();
    }
  });
});

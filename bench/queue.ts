/**
 * Benchmark of the queue executor (src/execution/queue) against the worker pool on the
 * same machine: the same attack workload (`runRows`, PGD on a small trained CNN over
 * MNIST digits, shards of 64) run by a local pool of N worker threads and through Redis
 * by N `rampart worker` processes, alternating rounds; medians per mode and the median of
 * per-round ratios (queue / pool: the queue's overhead). Results must be bit-identical.
 *
 * Also measured, for docs/SCALING.md: per-shard payload sizes (job JSON, data slice,
 * result, the model once per worker), Redis commands per shard (INFO commandstats before
 * and after the queued rounds), Redis CPU seconds per shard, and worker seconds per shard;
 * from these, the projected shard throughput and Redis load for 10, 100 and 1,000 workers.
 *
 * Needs redis-server on PATH (started on a free loopback port, stopped after).
 * Run: npm run bench:queue -- [--workers 2] [--rows 512] [--rounds 3] [--steps 10]
 */
import * as tf from '@tensorflow/tfjs';
import { Queue } from 'bullmq';
import { loadBundledMnist, splitDataset, takeFirst } from '../src/data/index.js';
import { initEngine } from '../src/engine/backend.js';
import { createWorkerPool, type RowsResult, type RowsWork } from '../src/execution/index.js';
import { redisOf } from '../src/execution/queue/artifacts.js';
import { createQueueExecutor, encodeModel, queueName } from '../src/execution/queue/index.js';
import { packBlob, packValue, splitArrays } from '../src/execution/queue/pack.js';
import { gatherRowValues } from '../src/core/tensors.js';
import { buildModel } from '../src/models/architectures.js';
import { TfjsClassifier } from '../src/models/tfjs-classifier.js';
import { threatModel } from '../src/threats/threat-model.js';
import { trainModel } from '../src/training/trainer.js';
import { redisMissing, startRedis, startWorker } from '../test/queue-support.js';
import { median, positiveFlag, reportErrorsPlainly } from './support.js';

reportErrorsPlainly();

const WORKERS = positiveFlag('workers', 2);
const ROWS = positiveFlag('rows', 512);
const ROUNDS = positiveFlag('rounds', 3);
const STEPS = positiveFlag('steps', 10);
const SHARD = 64;

function identical(a: RowsResult, b: RowsResult): boolean {
  return (['adversarial', 'success', 'perturbation', 'queries'] as const).every(
    (k) =>
      Buffer.compare(
        Buffer.from(a[k].buffer, a[k].byteOffset, a[k].byteLength),
        Buffer.from(b[k].buffer, b[k].byteOffset, b[k].byteLength),
      ) === 0,
  );
}

/** Calls per Redis command and Redis's own CPU seconds, from INFO. */
async function redisCounters(queue: Queue): Promise<{ calls: Map<string, number>; cpu: number }> {
  const client = await redisOf(queue.client);
  const stats = await client.info('commandstats');
  const calls = new Map<string, number>();
  for (const m of stats.matchAll(/cmdstat_(\S+):calls=(\d+)/g)) calls.set(m[1] as string, Number(m[2]));
  const cpuInfo = await client.info('cpu');
  const cpu = ['used_cpu_sys', 'used_cpu_user'].reduce((s, k) => s + Number(new RegExp(`${k}:([\\d.]+)`).exec(cpuInfo)?.[1] ?? 0), 0);
  return { calls, cpu };
}

async function main(): Promise<void> {
  const missing = redisMissing();
  if (missing) {
    console.error(missing);
    process.exit(2);
  }
  await initEngine({ backend: 'wasm' });
  const splits = splitDataset(loadBundledMnist(), { seed: 7, fractions: { train: 0.8, validation: 0.1, test: 0.1 } });
  const model = buildModel('cnn', { inputShape: [28, 28, 1], numClasses: 10, seed: 3 });
  await trainModel({
    model,
    train: takeFirst(splits.train, 2000),
    epochs: 1,
    batchSize: 64,
    optimizer: 'adam',
    learningRate: 2e-3,
    seed: 3,
  });
  const classifier = new TfjsClassifier(model, { id: 'bench-cnn' });
  const data = takeFirst(splits.test, ROWS);
  const work: RowsWork = {
    data,
    rows: Array.from({ length: ROWS }, (_, i) => i),
    threat: threatModel({ norm: 'linf', epsilon: 0.1 }),
    attack: { id: 'pgd', options: { steps: STEPS, restarts: 1 } },
    seed: 1,
  };

  const redis = await startRedis();
  const workers = await Promise.all(Array.from({ length: WORKERS }, () => startWorker(redis.url, ['--quiet'])));
  const pool = await createWorkerPool({ workers: WORKERS, backend: 'wasm' });
  const queue = await createQueueExecutor({ url: redis.url });
  const inspect = new Queue(queueName('wasm'), { connection: { host: '127.0.0.1', port: redis.port } });
  try {
    const poolSession = await pool.open(classifier);
    const queueSession = await queue.open(classifier);
    // Warm-up: the workers fetch and build the model, every engine compiles its kernels.
    const reference = await poolSession.runRows(work);
    if (!identical(reference, await queueSession.runRows(work))) throw new Error('queue and pool results differ');
    const times = { pool: [] as number[], queue: [] as number[] };
    const ratios: number[] = [];
    let redisCalls = 0;
    let redisCpu = 0;
    const commandCalls = new Map<string, number>();
    for (let r = 0; r < ROUNDS; r++) {
      const order = r % 2 === 0 ? (['pool', 'queue'] as const) : (['queue', 'pool'] as const);
      const round: Record<string, number> = {};
      for (const mode of order) {
        const before = mode === 'queue' ? await redisCounters(inspect) : undefined;
        const t0 = performance.now();
        const result = await (mode === 'pool' ? poolSession : queueSession).runRows(work);
        round[mode] = performance.now() - t0;
        if (!identical(reference, result)) throw new Error(`${mode} results differ in round ${r}`);
        if (before) {
          const after = await redisCounters(inspect);
          for (const [k, v] of after.calls) {
            const d = v - (before.calls.get(k) ?? 0);
            if (d > 0) commandCalls.set(k, (commandCalls.get(k) ?? 0) + d);
          }
          redisCpu += after.cpu - before.cpu;
        }
        times[mode].push(round[mode] as number);
      }
      ratios.push((round.queue as number) / (round.pool as number));
      console.log(`round ${r + 1}: pool ${(round.pool as number).toFixed(0)} ms, queue ${(round.queue as number).toFixed(0)} ms`);
    }
    // INFO itself is counted; leave those calls out.
    commandCalls.delete('info');
    redisCalls = [...commandCalls.values()].reduce((s, v) => s + v, 0);
    await poolSession.close();
    await queueSession.close();

    const shards = Math.ceil(ROWS / SHARD) * ROUNDS;
    const rowSize = 784;
    const x = gatherRowValues(data, work.rows.slice(0, SHARD));
    const shard = {
      attackId: 'pgd',
      attackOptions: { steps: STEPS, restarts: 1 },
      threat: work.threat,
      x,
      shape: [SHARD, 28, 28, 1],
      labels: new Int32Array(SHARD),
      seed: 1,
    };
    const { skeleton, arrays } = splitArrays(shard);
    const result = {
      adversarial: reference.adversarial.slice(0, SHARD * rowSize),
      success: reference.success.slice(0, SHARD),
      perturbation: reference.perturbation.slice(0, SHARD),
      queries: reference.queries.slice(0, SHARD),
    };
    const modelBytes = (await encodeModel(classifier))?.bytes.byteLength ?? 0;
    const jobJson = JSON.stringify({
      v: 1,
      kind: 'attack',
      model: { kind: 'tfjs-layers', digest: 'x'.repeat(64) },
      payload: skeleton,
      data: { digest: 'x'.repeat(64), bytes: 0 },
      run: 'x'.repeat(32),
      shard: 0,
      rows: [0, SHARD],
    }).length;
    const dataBytes = packBlob(arrays).length;
    const resultBytes = packValue(result).length;
    const poolMs = median(times.pool);
    const queueMs = median(times.queue);
    const workerSecondsPerShard = ((queueMs / 1000) * WORKERS) / Math.ceil(ROWS / SHARD);
    const perShard = { redisCommands: redisCalls / shards, redisCpuMs: (redisCpu * 1000) / shards };
    const summary = {
      workers: WORKERS,
      rows: ROWS,
      rounds: ROUNDS,
      pgdSteps: STEPS,
      medianMs: { pool: Math.round(poolMs), queue: Math.round(queueMs) },
      overhead: { medianOfRatios: median(ratios), ratioOfMedians: queueMs / poolMs },
      bytesPerShard: { jobJson, dataSlice: dataBytes, result: resultBytes },
      modelBytes,
      perShard: { ...perShard, workerSeconds: workerSecondsPerShard },
      commandsPerShard: Object.fromEntries([...commandCalls].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, +(v / shards).toFixed(2)])),
      projection: [10, 100, 1000].map((n) => {
        const shardsPerSecond = n / workerSecondsPerShard;
        return {
          workers: n,
          shardsPerSecond: +shardsPerSecond.toFixed(1),
          rowsPerSecond: Math.round(shardsPerSecond * SHARD),
          redisOpsPerSecond: Math.round(shardsPerSecond * perShard.redisCommands),
          redisCpuShare: +((shardsPerSecond * perShard.redisCpuMs) / 1000).toFixed(3),
          // Each slice and each result crosses Redis twice (written once, read once).
          redisMBPerSecond: +((shardsPerSecond * (2 * (dataBytes + resultBytes) + jobJson)) / 1e6).toFixed(1),
        };
      }),
    };
    console.log(JSON.stringify(summary, null, 2));
  } finally {
    await queue.close();
    await inspect.close();
    await pool.close();
    for (const w of workers) w.kill('SIGTERM');
    await Promise.all(workers.map((w) => w.exited));
    await redis.stop();
    tf.disposeVariables();
  }
}

await main();

/**
 * A queue worker: takes shard jobs of its backend's queue, fetches the model and the data
 * slice by digest (cached per worker), runs the handler registered for the job's kind
 * (the same handlers the pool and the local executor run, so the numbers are the same),
 * and writes the packed result under the job's result key. One job at a time per worker:
 * TF.js state is per thread. A killed worker's job is re-run elsewhere by BullMQ's stalled
 * job check once its lock expires.
 */
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { RampartError } from '../../core/errors.js';
import type { AnyShardTarget, HandlerRegistry } from '../handlers/registry.js';
import { ArtifactCache, digestOf, redisOf } from './artifacts.js';
import { encodeJobError, parseShardJob, type ShardJob, type ShardReturn } from './job.js';
import { modelCodec } from './models.js';
import { keys, parseQueueOptions, queueName, queueWorkerSchema, redisConnection, type QueueWorkerOptions } from './options.js';
import { joinArrays, packValue, unpackBlob } from './pack.js';

/** What a worker tells its host (the CLI prints it). */
export type WorkerEvent =
  | { type: 'start'; jobId: string; kind: string; rows: [number, number]; attempt: number }
  | { type: 'done'; jobId: string; ms: number }
  | { type: 'failed'; jobId: string; code: string; message: string }
  | { type: 'error'; message: string };

export interface QueueWorkerHandle {
  /** Waits for the job in hand, then disconnects. */
  close(): Promise<void>;
  /** Jobs finished so far. */
  readonly done: number;
}

/** Errors a retry cannot fix: the same input gives the same error on any worker. */
const FINAL_KINDS = new Set(['usage', 'input', 'threat', 'config']);
const FINAL_CODES = new Set(['E_QUEUE_CANCELLED', 'E_QUEUE_ARTIFACT_MISSING']);
const PROGRESS_EVERY_MS = 500;

/**
 * Starts a worker on `options.url` for `options.backend`'s queue, running `handlers`.
 * The caller has started TF.js on that backend.
 *
 * @throws UsageError `E_QUEUE_URL` / `E_QUEUE_OPTION` for bad options.
 * @example const w = await startQueueWorker({ url: 'redis://127.0.0.1:6379', backend: 'wasm' }, defaultHandlers());
 */
export async function startQueueWorker(
  options: QueueWorkerOptions,
  handlers: HandlerRegistry,
  onEvent: (event: WorkerEvent) => void = () => {},
): Promise<QueueWorkerHandle> {
  const config = parseQueueOptions(queueWorkerSchema, options, 'Queue worker');
  const connection = redisConnection(config.url);
  let worker: Worker | undefined = undefined;
  const client = async () => (worker as Worker).client;
  const cache = new ArtifactCache(client, config.prefix, config.cacheBytes, config.maxArtifactBytes);
  let done = 0;

  const target = (job: ShardJob): Promise<AnyShardTarget> =>
    cache.get(`model-${job.model.kind}`, job.model.digest, async (bytes) => {
      const { target: t, dispose } = await modelCodec(job.model.kind).decode(bytes);
      return { value: t, bytes: bytes.length, dispose };
    });

  const processor = async (job: Job): Promise<ShardReturn> => {
    const started = Date.now();
    const id = job.id as string;
    try {
      const shard = parseShardJob(job.data);
      onEvent({ type: 'start', jobId: id, kind: shard.kind, rows: shard.rows, attempt: job.attemptsMade + 1 });
      const redis = await redisOf(client());
      if ((await redis.exists(keys.cancel(config.prefix, shard.run))) === 1) {
        throw new RampartError('E_QUEUE_CANCELLED', 'engine', `Run ${shard.run} was cancelled; its shards are dropped.`);
      }
      const handler = handlers.get(shard.kind);
      const t = await target(shard);
      const arrays = await cache.get('data', shard.data.digest, (bytes) => ({ value: unpackBlob(bytes).arrays, bytes: bytes.length }));
      const payload = joinArrays(shard.payload, arrays);
      let last = 0;
      const result = await handler.run(t, payload, (d, total) => {
        const now = Date.now();
        if (now - last < PROGRESS_EVERY_MS) return;
        last = now;
        // Progress is advisory: a lost update must not fail the shard.
        job.updateProgress({ done: d, total }).catch(() => {});
      });
      const blob = packValue(result);
      if (blob.length > config.maxResultBytes) {
        throw new RampartError(
          'E_QUEUE_RESULT_SIZE',
          'input',
          `The result of shard ${id} is ${blob.length} bytes, above this worker's limit of ${config.maxResultBytes}; use smaller shards or raise --max-result-mb.`,
          { details: { bytes: blob.length, limit: config.maxResultBytes } },
        );
      }
      await redis.set(keys.result(config.prefix, id), blob, 'EX', config.resultTtlSeconds);
      done++;
      onEvent({ type: 'done', jobId: id, ms: Date.now() - started });
      return { bytes: blob.length, digest: digestOf(blob) };
    } catch (error) {
      const code = error instanceof RampartError ? error.code : 'E_UNEXPECTED';
      onEvent({ type: 'failed', jobId: id, code, message: error instanceof Error ? error.message : String(error) });
      const reason = encodeJobError(error);
      // A usage or input error is the same on every attempt: fail the job now instead of retrying it.
      // A missing artifact stays missing until the coordinator publishes it again, which it does once the job fails.
      if (error instanceof RampartError && (FINAL_KINDS.has(error.kind) || FINAL_CODES.has(error.code)))
        throw new UnrecoverableError(reason);
      throw new Error(reason);
    }
  };

  worker = new Worker(queueName(config.backend), processor, {
    connection,
    prefix: config.prefix,
    concurrency: 1,
    lockDuration: config.lockDurationMs,
    stalledInterval: config.stalledIntervalMs,
    maxStalledCount: config.maxStalledCount,
    autorun: false,
  });
  worker.on('error', (error) => onEvent({ type: 'error', message: error.message }));
  void worker.run().catch((error: unknown) => onEvent({ type: 'error', message: error instanceof Error ? error.message : String(error) }));
  await worker.waitUntilReady();
  const w = worker;
  return {
    get done() {
      return done;
    },
    async close() {
      await w.close();
      cache.clear();
    },
  };
}

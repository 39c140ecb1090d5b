/**
 * The queue executor's options and where its keys live. The Redis URL is the only thing a
 * remote worker needs (its password, `redis://:KEY@host:port`, is the shared key); every
 * other option has a bounded default, checked here with zod at the edge.
 */
import { z } from 'zod';
import { UsageError } from '../../core/errors.js';

/** Connection options for ioredis (one set per BullMQ object; each opens its own connection). */
export interface RedisConnection {
  host: string;
  port: number;
  username?: string;
  password?: string;
  db?: number;
  tls?: object;
  /** BullMQ workers and event readers block; ioredis must not give up on their commands. */
  maxRetriesPerRequest: null;
}

/**
 * Parses `redis://[user:password@]host:port[/db]` (or `rediss://` for TLS).
 *
 * @throws UsageError `E_QUEUE_URL` naming the expected form.
 * @example redisConnection('redis://127.0.0.1:6379') // { host: '127.0.0.1', port: 6379, ... }
 */
export function redisConnection(url: string): RedisConnection {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw queueUrlError(url, cause);
  }
  if ((parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') || parsed.hostname === '') throw queueUrlError(url);
  const port = parsed.port === '' ? 6379 : Number(parsed.port);
  const dbText = parsed.pathname.replace(/^\//, '');
  const db = dbText === '' ? undefined : Number(dbText);
  if (db !== undefined && (!Number.isInteger(db) || db < 0 || db > 15)) throw queueUrlError(url);
  return {
    host: parsed.hostname.replace(/^\[|\]$/g, ''),
    port,
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(db !== undefined ? { db } : {}),
    ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
    maxRetriesPerRequest: null,
  };
}

function queueUrlError(url: string, cause?: unknown): UsageError {
  return new UsageError('E_QUEUE_URL', `Queue URL '${redactUrl(url)}' is not a Redis URL; use redis://[:password@]host:port[/db].`, {
    ...(cause === undefined ? {} : { cause }),
    details: { url: redactUrl(url) },
  });
}

/** The URL without its password, for logs and messages. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^@/]*):[^@/]*@/, '//$1:***@');
}

const MiB = 1024 * 1024;
const prefix = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - only, at most 64')
  .default('rampart');
const ms = (max: number) => z.number().int().min(1).max(max);

/** What the coordinator (`createQueueExecutor`) accepts; every dimension bounded. */
export const queueExecutorSchema = z
  .object({
    url: z.string().min(1),
    prefix,
    /** Rows per shard: the unit of seeding, so results depend on it (same default as the pool). */
    shardRows: z.number().int().min(1).max(4096).optional(),
    /** Attempts per shard before the run fails with the shard's error code. */
    attempts: z.number().int().min(1).max(20).default(3),
    /** Delay between attempts of a failed shard. */
    backoffMs: ms(600_000).default(1000),
    /** A shard not finished this long after it was enqueued fails the run with `E_QUEUE_TIMEOUT`. */
    shardTimeoutMs: ms(24 * 3600_000).default(30 * 60_000),
    /** How often pending shards are checked against Redis (lost events, a restarted Redis). */
    sweepMs: ms(600_000).default(5000),
    /** Redis unreachable this long fails the run with `E_QUEUE_CONNECTION`. */
    connectionTimeoutMs: ms(3600_000).default(60_000),
    /** Lifetime of published models, data slices and results; refreshed while a session uses them. */
    artifactTtlSeconds: z
      .number()
      .int()
      .min(10)
      .max(7 * 24 * 3600)
      .default(6 * 3600),
    /** Largest model artifact published. */
    maxModelBytes: z
      .number()
      .int()
      .min(1024)
      .max(512 * MiB)
      .default(256 * MiB),
    /** Largest data slice of one shard (its inputs, labels, targets). */
    maxPayloadBytes: z
      .number()
      .int()
      .min(1024)
      .max(256 * MiB)
      .default(16 * MiB),
  })
  .strict();

export type QueueExecutorOptions = z.input<typeof queueExecutorSchema>;
export type QueueExecutorConfig = z.output<typeof queueExecutorSchema>;

/** What a worker process (`rampart worker`, `startQueueWorker`) accepts. */
export const queueWorkerSchema = z
  .object({
    url: z.string().min(1),
    prefix,
    backend: z.string().min(1),
    /** A worker holding a job renews its lock this often / 2; a killed worker's job runs again after it expires. */
    lockDurationMs: ms(3600_000).default(30_000),
    /** How often a worker looks for jobs whose worker died. */
    stalledIntervalMs: ms(3600_000).default(30_000),
    /** Times a job may stall (its worker died) before it fails. */
    maxStalledCount: z.number().int().min(0).max(20).default(3),
    /** Decoded models and fetched data slices kept per worker, by digest. */
    cacheBytes: z
      .number()
      .int()
      .min(MiB)
      .max(4096 * MiB)
      .default(512 * MiB),
    /** Largest artifact fetched (models and data slices alike). */
    maxArtifactBytes: z
      .number()
      .int()
      .min(1024)
      .max(512 * MiB)
      .default(256 * MiB),
    /** Largest result written back. */
    maxResultBytes: z
      .number()
      .int()
      .min(1024)
      .max(256 * MiB)
      .default(64 * MiB),
    resultTtlSeconds: z
      .number()
      .int()
      .min(10)
      .max(7 * 24 * 3600)
      .default(6 * 3600),
  })
  .strict();

export type QueueWorkerOptions = z.input<typeof queueWorkerSchema>;
export type QueueWorkerConfig = z.output<typeof queueWorkerSchema>;

/**
 * Parses options with `schema`, as a typed usage error.
 *
 * @throws UsageError `E_QUEUE_OPTION` naming the option and the problem.
 */
export function parseQueueOptions<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const path = issue?.path.join('.') ?? '';
  throw new UsageError('E_QUEUE_OPTION', `${what} option '${path}' is invalid: ${issue?.message ?? 'bad value'}.`, {
    details: { option: path },
  });
}

/**
 * One queue per TF.js backend: a worker takes only jobs of its own backend, since numbers
 * are identical only on the same backend.
 */
export function queueName(backend: string): string {
  return `shards.${backend}`;
}

/** Redis keys besides BullMQ's own, all under the prefix. */
export const keys = {
  artifact: (prefix: string, digest: string): string => `${prefix}:artifact:${digest}`,
  result: (prefix: string, jobId: string): string => `${prefix}:result:${jobId}`,
  cancel: (prefix: string, run: string): string => `${prefix}:cancel:${run}`,
};

/**
 * The job a shard travels as, checked with zod on the worker (the queue is an edge: another
 * process, maybe another version, wrote it), and how a worker's error travels back: as the
 * JSON of the serialised error in BullMQ's `failedReason`, so the run ends with its code.
 */
import { z } from 'zod';
import { DataError, EngineError, RampartError } from '../../core/errors.js';
import { deserializeError, serializeError } from '../pool/protocol.js';

export const JOB_VERSION = 1;
/** The payload skeleton (everything but the typed arrays) is small: ids, options, a threat, a seed. */
export const MAX_SKELETON_CHARS = 64 * 1024;

const digest = z.string().regex(/^[0-9a-f]{64}$/);

export const shardJobSchema = z
  .object({
    v: z.literal(JOB_VERSION),
    /** The registered handler kind, e.g. 'attack'. */
    kind: z.string().min(1).max(64),
    model: z.object({ kind: z.string().min(1).max(64), digest }).strict(),
    /** The payload without its typed arrays; those are in the data artifact. */
    payload: z.unknown(),
    data: z.object({ digest, bytes: z.number().int().min(0) }).strict(),
    run: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
    shard: z.number().int().min(0),
    /** Rows `[start, end)` of the run's rows this shard covers (for logs and progress). */
    rows: z.tuple([z.number().int().min(0), z.number().int().min(0)]),
  })
  .strict();

export type ShardJob = z.infer<typeof shardJobSchema>;

/** What a worker returns for a finished shard; the result itself is under the result key. */
export interface ShardReturn {
  bytes: number;
  digest: string;
}

/**
 * @throws DataError `E_QUEUE_JOB` for job data this worker cannot read (another version, another producer).
 */
export function parseShardJob(data: unknown): ShardJob {
  const parsed = shardJobSchema.safeParse(data);
  if (parsed.success) {
    if (JSON.stringify(parsed.data.payload ?? null).length > MAX_SKELETON_CHARS) throw jobError('its payload skeleton is above 64 KiB');
    return parsed.data;
  }
  const issue = parsed.error.issues[0];
  throw jobError(`${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
}

function jobError(problem: string): DataError {
  return new DataError('E_QUEUE_JOB', `A queue job is malformed (${problem}); coordinator and workers must run the same Rampart version.`);
}

/** Job ids: BullMQ forbids ':' and plain integers. */
export function jobId(run: string, shard: number): string {
  return `${run}-s${shard}`;
}

/** A worker error as the text BullMQ stores. */
export function encodeJobError(error: unknown): string {
  return JSON.stringify(serializeError(error));
}

/**
 * The error a failed job ends the run with: the worker's own (same code and kind), its
 * message saying where it happened; an unreadable reason is `E_QUEUE_JOB_FAILED`.
 */
export function decodeJobError(failedReason: string | undefined, id: string, attempts: number): Error {
  const where = `queue job ${id} failed after ${attempts} attempt${attempts === 1 ? '' : 's'}`;
  try {
    const original = deserializeError(JSON.parse(failedReason ?? '') as Parameters<typeof deserializeError>[0]);
    if (original instanceof RampartError) {
      return new RampartError(original.code, original.kind, `${original.message} (${where})`, {
        cause: original,
        details: { ...original.details, jobId: id, attempts },
      });
    }
    return new EngineError('E_QUEUE_JOB_FAILED', `A worker failed: ${original.message} (${where}).`, {
      cause: original,
      details: { jobId: id, attempts },
    });
  } catch {
    if (/stalled more than allowable limit/.test(failedReason ?? '')) {
      return new EngineError(
        'E_QUEUE_STALLED',
        `Queue job ${id} lost its workers too often (killed, or too busy to renew the job's lock); raise 'rampart worker --lock-duration' above the longest attack step.`,
        { details: { jobId: id, attempts } },
      );
    }
    return new EngineError('E_QUEUE_JOB_FAILED', `A worker failed: ${failedReason ?? 'no reason given'} (${where}).`, {
      details: { jobId: id, attempts },
    });
  }
}

/**
 * Artifacts by content digest in Redis: the coordinator publishes models and data slices
 * under `<prefix>:artifact:<sha256>` with a TTL (refreshed while a session uses them);
 * workers fetch them once, check the digest and keep them in a per-worker cache bounded
 * in bytes. Redis rather than an HTTP artifact route: the queue URL (and its password) is
 * then all a remote worker needs, and Redis is already the one service both sides reach.
 */
import { createHash } from 'node:crypto';
import type { RedisClient } from 'bullmq';
import type { Redis } from 'ioredis';
import { DataError, UsageError } from '../../core/errors.js';
import { keys } from './options.js';

/** BullMQ types its connection as a minimal client; it is an ioredis `Redis`, whose full API (buffers, EX) is needed here. */
export async function redisOf(client: Promise<RedisClient> | RedisClient): Promise<Redis> {
  return (await client) as unknown as Redis;
}

/** sha256 of `bytes`, hex. */
export function digestOf(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The coordinator's side: publishes blobs, remembering what it published so repeats cost one EXPIRE at most. */
export class ArtifactPublisher {
  /** Digest → when its TTL was last set (ms). */
  private readonly published = new Map<string, number>();

  constructor(
    private readonly client: () => Promise<RedisClient>,
    private readonly prefix: string,
    private readonly ttlSeconds: number,
  ) {}

  /**
   * Publishes `bytes` (content-addressed, so a second publisher of the same bytes is harmless) and returns its digest.
   *
   * @throws UsageError `E_QUEUE_PAYLOAD_SIZE` when `bytes` exceeds `maxBytes` (`what` names it and the option to raise).
   */
  async publish(bytes: Uint8Array, maxBytes: number, what: string, force = false): Promise<string> {
    if (bytes.byteLength > maxBytes) {
      throw new UsageError(
        'E_QUEUE_PAYLOAD_SIZE',
        `${what} is ${bytes.byteLength} bytes, above the queue's limit of ${maxBytes}; use smaller shards (shardRows) or raise the limit.`,
        { details: { bytes: bytes.byteLength, limit: maxBytes } },
      );
    }
    const digest = digestOf(bytes);
    const set = this.published.get(digest);
    const now = Date.now();
    if (!force && set !== undefined && now - set < (this.ttlSeconds * 1000) / 4) return digest;
    const client = await redisOf(this.client());
    await client.set(
      keys.artifact(this.prefix, digest),
      Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      'EX',
      this.ttlSeconds,
    );
    this.published.set(digest, now);
    return digest;
  }

  /** Forgets what was published, so the next `publish` writes again (after Redis lost its data). */
  forget(): void {
    this.published.clear();
  }
}

interface Cached<T> {
  value: T;
  bytes: number;
  dispose?: () => void;
}

/**
 * The worker's side: fetches artifacts by digest, verifies them, and caches what is built
 * from them (decoded models, unpacked data) in least-recently-used order within a byte budget.
 */
export class ArtifactCache {
  private readonly entries = new Map<string, Cached<unknown>>();
  private held = 0;

  constructor(
    private readonly client: () => Promise<RedisClient>,
    private readonly prefix: string,
    private readonly budgetBytes: number,
    private readonly maxArtifactBytes: number,
  ) {}

  /**
   * The value built from artifact `digest` by `build` (cached under `tag:digest`).
   *
   * @throws DataError `E_QUEUE_ARTIFACT_MISSING` when Redis no longer holds it (expired or evicted),
   *   `E_QUEUE_ARTIFACT_DIGEST` when its bytes do not hash to `digest`, `E_QUEUE_ARTIFACT_SIZE` above the size limit.
   */
  async get<T>(tag: string, digest: string, build: (bytes: Buffer) => Promise<Cached<T>> | Cached<T>): Promise<T> {
    const key = `${tag}:${digest}`;
    const hit = this.entries.get(key);
    if (hit) {
      // Re-insert: Map order is the LRU order.
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit.value as T;
    }
    const client = await redisOf(this.client());
    const redisKey = keys.artifact(this.prefix, digest);
    const size = await client.strlen(redisKey);
    if (size > this.maxArtifactBytes) {
      throw new DataError(
        'E_QUEUE_ARTIFACT_SIZE',
        `Artifact ${digest.slice(0, 12)} is ${size} bytes, above this worker's limit of ${this.maxArtifactBytes}; raise --max-artifact-mb.`,
        {
          details: { digest, bytes: size, limit: this.maxArtifactBytes },
        },
      );
    }
    const bytes = await client.getBuffer(redisKey);
    if (!bytes) {
      throw new DataError(
        'E_QUEUE_ARTIFACT_MISSING',
        `Artifact ${digest.slice(0, 12)} (${tag}) is not in Redis (expired, evicted or lost in a restart); rerun the evaluation so the coordinator publishes it again.`,
        { details: { digest, tag } },
      );
    }
    if (digestOf(bytes) !== digest) {
      throw new DataError(
        'E_QUEUE_ARTIFACT_DIGEST',
        `Artifact ${digest.slice(0, 12)} (${tag}) does not hash to its name; something else wrote that key. Use a prefix of your own.`,
        {
          details: { digest, tag },
        },
      );
    }
    const entry = await build(bytes);
    this.entries.set(key, entry);
    this.held += entry.bytes;
    this.evict(key);
    return entry.value;
  }

  /** Drops and disposes everything cached. */
  clear(): void {
    for (const e of this.entries.values()) e.dispose?.();
    this.entries.clear();
    this.held = 0;
  }

  private evict(keep: string): void {
    for (const [key, e] of this.entries) {
      if (this.held <= this.budgetBytes) return;
      if (key === keep) continue;
      this.entries.delete(key);
      this.held -= e.bytes;
      e.dispose?.();
    }
  }
}

export type { Cached };

/**
 * The messages between the pool (main thread) and its workers, and the pure helpers both
 * sides share: sharding, per-shard seeds and error (de)serialisation. Everything here is
 * plain structured-clone data; no tensors cross a thread.
 */
import type * as tf from '@tensorflow/tfjs';
import type { Bounds } from '../../core/types.js';
import { ConfigError, DataError, EngineError, GradientError, InputError, RampartError, ThreatError, UsageError, type ErrorKind } from '../../core/errors.js';
import type { ThreatModel } from '../../threats/threat-model.js';
import type { Exposure } from '../../training/curriculum.js';
import type { ObjectiveSpec } from '../../training/objectives/types.js';

/** The batch context a worker's objective sees (its seed is the shard's, see `shardSeed`). */
export interface PoolBatchContext {
  epoch: number;
  step: number;
  seed: number;
  exposure?: Exposure;
}

export interface LoadRequest {
  op: 'load';
  handle: number;
  /** `model.toJSON(null, false)`: the LayersModel topology. */
  topology: object;
  weightSpecs: tf.io.WeightsManifestEntry[];
  /** All weights, concatenated in `model.weights` order (float32). */
  weightData: ArrayBuffer;
  modelId: string;
  bounds: Bounds;
}

export interface SetWeightsRequest {
  op: 'set-weights';
  handle: number;
  /** One array per `model.weights` entry, in that order. */
  weights: Float32Array[];
}

export interface UnloadRequest {
  op: 'unload';
  handle: number;
}

export interface AttackShardRequest {
  op: 'attack';
  handle: number;
  attackId: string;
  attackOptions: Record<string, unknown>;
  threat: ThreatModel;
  x: Float32Array;
  shape: number[];
  labels: Int32Array;
  /** Present for a targeted goal: this shard's targets. */
  targets?: Int32Array;
  seed: number;
}

export interface GradientsShardRequest {
  op: 'gradients';
  handle: number;
  /** Rebuilt in the worker with `createObjective`; it prepares (e.g. attacks) its own shard. */
  objective: ObjectiveSpec;
  batch: PoolBatchContext;
  x: Float32Array;
  shape: number[];
  labels: Int32Array;
}

export interface MemoryRequest {
  op: 'memory';
}

/** Fault injection: the worker thread calls `process.exit(code)`, as a crash would. */
export interface ExitRequest {
  op: 'exit';
  code: number;
}

export type PoolRequest = LoadRequest | SetWeightsRequest | UnloadRequest | AttackShardRequest | GradientsShardRequest | MemoryRequest | ExitRequest;
export type PoolOp = PoolRequest['op'];

export interface AttackShardResult {
  adversarial: Float32Array;
  success: Uint8Array;
  perturbation: Float32Array;
  queries: Int32Array;
}

export interface GradientsShardResult {
  /** Mean loss over the shard. */
  loss: number;
  count: number;
  /** Gradient of the shard's mean loss, one per `model.trainableWeights` entry, in that order. */
  gradients: Float32Array[];
}

export interface MemoryResult {
  numTensors: number;
  numBytes: number;
}

export interface PoolResponses {
  load: null;
  'set-weights': null;
  unload: null;
  attack: AttackShardResult;
  gradients: GradientsShardResult;
  memory: MemoryResult;
  exit: null;
}

export type PoolResponse = PoolResponses[PoolOp];

/** An error as it crosses a thread: enough to rebuild the typed error on the other side. */
export interface SerializedError {
  name: string;
  message: string;
  code?: string;
  kind?: string;
  details?: Record<string, unknown>;
  stack?: string;
}

/** Main thread to worker. */
export interface RequestEnvelope {
  id: number;
  request: PoolRequest;
}

/** Worker to main thread. */
export type WorkerMessage =
  | { type: 'ready'; backend: string }
  | { type: 'init-error'; error: SerializedError }
  | { type: 'result'; id: number; result: PoolResponse }
  | { type: 'error'; id: number; error: SerializedError }
  | { type: 'progress'; id: number; done: number; total: number };

/** What the worker thread receives as `workerData`. */
export interface WorkerBootData {
  backend: string;
}

/**
 * Splits `[0, count)` into consecutive shards of at most `size` rows. Shards depend only on
 * `count` and `size`, never on the number of workers, which is what makes seeded results
 * independent of the worker count.
 */
export function shardRanges(count: number, size: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let start = 0; start < count; start += size) out.push([start, Math.min(count, start + size)]);
  return out;
}

/** Splits `[0, count)` into `parts` consecutive shards whose sizes differ by at most one (no empty shard). */
export function evenRanges(count: number, parts: number): Array<[number, number]> {
  const k = Math.max(1, Math.min(parts, count));
  const out: Array<[number, number]> = [];
  let start = 0;
  for (let i = 0; i < k; i++) {
    const size = Math.floor(count / k) + (i < count % k ? 1 : 0);
    out.push([start, start + size]);
    start += size;
  }
  return out;
}

/**
 * The seed of the shard that starts at row `offset` of a batch attacked with `seed`.
 * Offset 0 keeps the seed itself, so a batch that fits in one shard gets exactly the
 * result of `attack.run(..., { seed })`; other offsets get a 31-bit hash of
 * (seed, offset) so neighbouring shards and neighbouring batch seeds do not share noise.
 * A pure function of the seed and the row offset: the worker count never enters.
 *
 * @example shardSeed(42, 0) === 42; shardSeed(42, 64) !== shardSeed(43, 64)
 */
export function shardSeed(seed: number, offset: number): number {
  if (offset === 0) return seed;
  // splitmix32-style finaliser over both inputs.
  let h = (Math.trunc(seed) ^ Math.imul(offset, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  h = (h ^ (h >>> 16)) >>> 0;
  // Room for the attack loop's own `seed + 7919 * restart` and the L2 start's `seed + 1`.
  return h % 0x7fff0000;
}

/** Plain-data form of any thrown value. */
export function serializeError(error: unknown): SerializedError {
  if (error instanceof RampartError) {
    return { name: error.name, message: error.message, code: error.code, kind: error.kind, details: safeDetails(error.details), ...(error.stack ? { stack: error.stack } : {}) };
  }
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { name: error.name, message: error.message, ...(typeof code === 'string' ? { code } : {}), ...(error.stack ? { stack: error.stack } : {}) };
  }
  return { name: 'Error', message: String(error) };
}

function safeDetails(details: Record<string, unknown>): Record<string, unknown> {
  try {
    return structuredClone(details);
  } catch {
    try {
      return JSON.parse(JSON.stringify(details)) as Record<string, unknown>;
    } catch {
      // Details are a courtesy; the code and message are what must cross.
      return { unserializable: Object.keys(details) };
    }
  }
}

const REBUILDERS: Record<string, (code: string, message: string, details: Record<string, unknown>) => RampartError> = {
  UsageError: (c, m, d) => new UsageError(c, m, { details: d }),
  InputError: (c, m, d) => new InputError(c, m, { details: d }),
  ThreatError: (c, m, d) => new ThreatError(c, m, { details: d }),
  ConfigError: (c, m, d) => new ConfigError(c, m, { details: d }),
  DataError: (c, m, d) => new DataError(c, m, { details: d }),
  GradientError: (c, m, d) => new GradientError(c, m, { details: d }),
  EngineError: (c, m, d) => new EngineError(c, m, { details: d }),
};

/** Rebuilds the original error's class (a RampartError subclass when it was one). */
export function deserializeError(error: SerializedError): Error {
  const rebuild = REBUILDERS[error.name];
  let out: Error;
  if (rebuild && error.code !== undefined) out = rebuild(error.code, error.message, error.details ?? {});
  else if (error.code !== undefined && error.kind !== undefined) out = new RampartError(error.code, error.kind as ErrorKind, error.message, { details: error.details ?? {} });
  else {
    out = new Error(error.message);
    out.name = error.name;
    if (error.code !== undefined) (out as Error & { code?: string }).code = error.code;
  }
  if (error.stack) out.stack = error.stack;
  return out;
}

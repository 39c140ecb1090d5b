/**
 * The messages between the pool (main thread) and its workers, and error
 * (de)serialisation. Shard work travels as `run` requests naming a registered handler's
 * kind; everything here is plain structured-clone data, no tensors cross a thread.
 */
import type * as tf from '@tensorflow/tfjs';
import type { Bounds } from '../../core/types.js';
import type { Preprocessing } from '../../models/sources/types.js';
import {
  ConfigError,
  DataError,
  EngineError,
  GradientError,
  InputError,
  RampartError,
  ThreatError,
  UsageError,
  type ErrorKind,
} from '../../core/errors.js';

/** Loads a TF.js LayersModel from its topology and weights. */
export interface LoadLayersRequest {
  op: 'load';
  format?: 'layers';
  handle: number;
  /** `model.toJSON(null, false)`: the LayersModel topology. */
  topology: object;
  weightSpecs: tf.io.WeightsManifestEntry[];
  /** All weights, concatenated in `model.weights` order (float32). */
  weightData: ArrayBuffer;
  modelId: string;
  bounds: Bounds;
}

/** Loads an ONNX model by importing its file's bytes again, behind the same preprocessing. */
export interface LoadOnnxRequest {
  op: 'load';
  format: 'onnx';
  handle: number;
  /** The .onnx file's bytes (transferred). */
  bytes: ArrayBuffer;
  path: string;
  preprocess?: Preprocessing;
  modelId: string;
}

export type LoadRequest = LoadLayersRequest | LoadOnnxRequest;

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

/** One shard of work for the handler registered under `kind` (see `handlers/`). */
export interface RunRequest {
  op: 'run';
  kind: string;
  handle: number;
  payload: unknown;
}

export interface MemoryRequest {
  op: 'memory';
}

/** Fault injection: the worker thread calls `process.exit(code)`, as a crash would. */
export interface ExitRequest {
  op: 'exit';
  code: number;
}

export type PoolRequest = LoadRequest | SetWeightsRequest | UnloadRequest | RunRequest | MemoryRequest | ExitRequest;
export type PoolOp = PoolRequest['op'];

export interface MemoryResult {
  numTensors: number;
  numBytes: number;
}

export interface PoolResponses {
  load: null;
  'set-weights': null;
  unload: null;
  run: unknown;
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

/** Plain-data form of any thrown value. */
export function serializeError(error: unknown): SerializedError {
  if (error instanceof RampartError) {
    return {
      name: error.name,
      message: error.message,
      code: error.code,
      kind: error.kind,
      details: safeDetails(error.details),
      ...(error.stack ? { stack: error.stack } : {}),
    };
  }
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return {
      name: error.name,
      message: error.message,
      ...(typeof code === 'string' ? { code } : {}),
      ...(error.stack ? { stack: error.stack } : {}),
    };
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
  else if (error.code !== undefined && error.kind !== undefined)
    out = new RampartError(error.code, error.kind as ErrorKind, error.message, { details: error.details ?? {} });
  else {
    out = new Error(error.message);
    out.name = error.name;
    if (error.code !== undefined) (out as Error & { code?: string }).code = error.code;
  }
  if (error.stack) out.stack = error.stack;
  return out;
}

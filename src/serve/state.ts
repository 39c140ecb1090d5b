/**
 * The types the serve plugins share: the options `buildServer` takes, what each plugin
 * decorates the Fastify instance and requests with, and the `app.rampart` view routes,
 * the CLI and tests use.
 */
import type { FastifyServerOptions } from 'fastify';
import type { Logger as PinoLogger } from 'pino';
import type { Dataset } from '../core/types.js';
import type { EnsembleMember } from '../defenses/ensemble/index.js';
import type { DefenseLayer, TraceEntry } from '../defenses/layer.js';
import type { Json } from '../governance/types.js';
import type { KeyStore, Principal, Role } from './auth.js';
import type { Canary, ProbeSet } from './canary.js';
import type { AlertRules } from './plugins/rollout-alerts.js';
import type { ServeConfig, ServeConfigInput } from './config.js';
import type { LayerSet } from './layers.js';
import type { ServeMetrics } from './metrics.js';
import type { ModelHolder } from './model-holder.js';
import type { ModelSource } from './model-source.js';
import type { DriftMonitor } from './monitor.js';
import type { Preparer } from './preparation.js';
import type { Logger, RollbackController, RollbackOutcome } from './rollback.js';
import type { ServedModel } from './served-model.js';

export interface BuildServerOptions {
  source: ModelSource;
  config?: ServeConfigInput;
  /** API keys; without them `predict` routes are open and operator/admin routes refuse everyone. */
  keys?: KeyStore;
  /** Fastify's logger option, or a pino instance (structured logs). Default: off. */
  logger?: FastifyServerOptions['logger'] | PinoLogger;
  /** Data to fit the OOD detector on when the model ships none (default: its training split). */
  oodData?: Dataset;
  /** A ready probe set (default: `config.canary.probes`, else generated from the model's test split). */
  probes?: ProbeSet;
  /** Held-out examples to generate probes from (default: the model's test split). */
  probeData?: Dataset;
  /** Ensemble members built by the caller (default: loaded from `config.layers.ensemble.models`). */
  ensemble?: EnsembleMember[];
  /** Extra layers (e.g. text normalisation from another module), run after validation. */
  extraInputLayers?: DefenseLayer[];
  /** The registry directory captures go to when `config.capture.dir` is not set (the CLI passes --registry). */
  captureDir?: string;
  /**
   * Benchmarks only: told how long capture kept the event loop busy (see `CaptureTimingSink`).
   * Unset, capture runs without a clock read.
   */
  captureTiming?: CaptureTimingSink;
  /** Start the canary, rollback-watch and tag-watch timers (default true; tests drive them by hand). */
  timers?: boolean;
  /** Write a metrics snapshot to this registry directory every `everyMs` (default 30 s), for the console. */
  snapshots?: { dir: string; everyMs?: number };
}

/** Where capture reports the event-loop time it takes (bench/capture.ts), in nanoseconds from `process.hrtime.bigint`. */
export interface CaptureTimingSink {
  /** The capture hook's synchronous time on one `/v1/predict` answer; `captured` when it queued the request. */
  request(ns: bigint, captured: boolean): void;
  /** Handing one batch of `items` to the writer thread (a turn of the event loop of its own, between requests). */
  handOver(ns: bigint, items: number): void;
}

/** Per-request facts the hooks and routes share. */
export interface RequestState {
  principal?: Principal;
  trace: TraceEntry[];
}

/** What every plugin reads: decorated as `app.serveCore` before the plugins register. */
export interface ServeCore {
  readonly options: BuildServerOptions;
  readonly config: ServeConfig;
  readonly source: ModelSource;
  readonly holder: ModelHolder;
  readonly metrics: ServeMetrics;
  readonly log: Logger;
  readonly prepare: Preparer;
  alert(kind: string, details: Record<string, unknown>): Promise<void>;
  /** Which production signals become alerts (drift windows, canary and anomaly thresholds). */
  readonly alertRules: AlertRules;
  /** Adds a listener called whenever a model goes live (at startup too, for plugins registered after it). */
  onLive(listener: (model: ServedModel) => void): void;
  /** Tells every listener that `model` is live now. */
  wentLive(model: ServedModel): void;
  /** Adds a listener for probes the canary got wrong (the capture plugin). */
  onCanaryMiss(listener: (miss: CanaryMiss) => void): void;
  /** Tells the listeners which probes the canary got wrong on `modelId`. */
  canaryMissed(miss: CanaryMiss): void;
}

/** Probes one canary run got wrong: their indices in the probe set and what the model said. */
export interface CanaryMiss {
  modelId: string;
  probes: ProbeSet;
  misses: Array<{ index: number; predicted: number }>;
}

/** The rollback plugin's decoration: every change of the live model goes through it. */
export interface ModelControl {
  readonly controller: RollbackController | undefined;
  rollback(reason: string, trigger: string, details?: Record<string, Json>): Promise<RollbackOutcome>;
  promote(ref: string, reason: string): Promise<{ from: string; to: string }>;
  tick(): Promise<RollbackOutcome | undefined>;
  /** Feeds one canary result (on the model `modelId`) to the rollback controller. */
  canaryResult(accuracy: number, modelId: string): Promise<void>;
  /** Follows the source's record when it moved elsewhere (a replica); true when it swapped. */
  follow(): Promise<boolean>;
}

/** What the routes (and tests) reach through `app.rampart`. */
export interface ServerState {
  readonly config: ServeConfig;
  readonly source: ModelSource;
  readonly holder: ModelHolder;
  readonly keys: KeyStore | undefined;
  readonly metrics: ServeMetrics;
  readonly monitor: DriftMonitor | undefined;
  readonly canary: Canary | undefined;
  readonly controller: RollbackController | undefined;
  readonly layers: readonly DefenseLayer[];
  readonly ensembleIds: readonly string[];
  readonly log: Logger;
  request(req: { principal: Principal | undefined; trace: TraceEntry[] }): RequestState;
  alert(kind: string, details: Record<string, unknown>): Promise<void>;
  /** Rolls back now (manual or automatic); serialised with promotions. */
  rollback(reason: string, trigger: string, details?: Record<string, Json>): Promise<RollbackOutcome>;
  /** Promotes a registry reference or directory and swaps it in; serialised with rollbacks. */
  promote(ref: string, reason: string): Promise<{ from: string; to: string }>;
  /** Feeds the anomaly rate to the rollback controller (the watch timer calls it). */
  tick(): Promise<RollbackOutcome | undefined>;
  /** Swaps to what the source's record points at when another server or the CLI moved it. */
  follow(): Promise<boolean>;
}

declare module 'fastify' {
  interface FastifyInstance {
    serveCore: ServeCore;
    defenceLayers: LayerSet;
    driftMonitor: DriftMonitor | undefined;
    canary: Canary | undefined;
    modelControl: ModelControl;
    rampart: ServerState;
  }
  interface FastifyRequest {
    /** The authenticated caller (the auth plugin sets it; undefined on public routes and without keys). */
    principal: Principal | undefined;
    /** The decision trace of this request, in the order things ran. */
    trace: TraceEntry[];
    /**
     * The JSON body's bytes as received, kept only while capture is on: a captured request
     * hands these to the capture writer thread, which parses them there, off the event loop.
     */
    rawJson: Buffer | null;
  }
  interface FastifyContextConfig {
    /** Least role that may call the route; absent means public. */
    role?: Role;
    /** Counts against the rate limits. */
    metered?: boolean;
  }
}

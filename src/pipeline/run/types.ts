/** The stage runner's contracts: what a stage declares, what it is given, what is recorded. */
import type { WorkerPool } from '../../execution/pool/index.js';
import type { Plan } from '../plan/schema.js';

/** Everything a stage may read besides its upstream outputs. */
export interface RunEnvironment {
  plan: Plan;
  /** The run's directory, `.rampart/runs/<plan-name>`; stage outputs hold paths relative to it. */
  runDir: string;
  backend?: string;
  pool?: WorkerPool;
  /** Extra inputs a stage may depend on (e.g. the production model's results for the gate). */
  extras: Record<string, unknown>;
}

export interface StageContext extends RunEnvironment {
  /** A directory for this stage's files, unique to its key: a rerun after a crash finds its own partial work. */
  workDir: string;
  /** Relative form of a path inside the run directory, for outputs. */
  relative(path: string): string;
  /** Absolute form of an output path. */
  resolve(path: string): string;
  /** Outputs of a stage this one depends on, typed by its reference. */
  output<O>(stage: StageRef<O>): O;
  progress(done: number, total: number, label?: string): void;
  log(line: string): void;
}

/**
 * A typed handle on a stage's outputs: its id, and (in the type only) what it returns, so
 * `ctx.output(hardenRef)` is a `TrainOutputs` without a cast. Stage modules export one per stage.
 */
export interface StageRef<O> {
  readonly id: string;
  /** Never set: carries the output type. */
  readonly outputs?: O;
}

/** The reference of the stage with this id. */
export function stageRef<O>(id: string): StageRef<O> {
  return { id };
}

export interface Stage<O = unknown> extends StageRef<O> {
  id: string;
  title: string;
  /** Bump when the stage's code changes what it produces, so old cache entries are not reused. */
  version: number;
  dependsOn: readonly string[];
  /** The values that decide this stage's result (besides upstream outputs); hashed canonically. */
  inputs(env: RunEnvironment): unknown | Promise<unknown>;
  run(ctx: StageContext): Promise<O>;
  /**
   * Top-level output fields left out of the outputs digest (timings): a stage that reran
   * and produced the same result must not invalidate everything downstream.
   */
  volatile?: readonly string[];
  /** Whether cached outputs are still usable (e.g. their files still exist); default yes. */
  stillValid?(outputs: O, ctx: StageContext): Promise<boolean>;
}

export type StageStatus = 'ran' | 'cached';

export interface StageRecord<O = unknown> {
  kind: 'rampart.stage-record';
  schemaVersion: 1;
  stage: string;
  version: number;
  key: string;
  inputs: unknown;
  /** Digest of each upstream stage's outputs that went into the key. */
  upstream: Record<string, string>;
  outputs: O;
  outputsDigest: string;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
}

export type RunEvent =
  | { type: 'stage-start'; stage: string; title: string; index: number; count: number }
  | { type: 'stage-progress'; stage: string; done: number; total: number; label?: string }
  | { type: 'stage-log'; stage: string; line: string }
  | { type: 'stage-end'; stage: string; title: string; index: number; count: number; status: StageStatus; durationMs: number };

export interface StageSummary {
  id: string;
  title: string;
  status: StageStatus;
  key: string;
  /** Time spent in this call: the stage's own run time, or the cache check. */
  durationMs: number;
  /** How long the stage took when it actually ran. */
  ranForMs: number;
}

/**
 * The staged rollout as a state machine, free of HTTP and models: phases in order, each
 * with a share of traffic (0 = shadow), a minimum duration and criteria. Statistics
 * accumulate per phase; `tick` decides, once the phase's time is up, whether to advance,
 * promote (after the last phase) or roll back (a criterion failed). Paused time does not
 * count towards a phase. The rollout plugin feeds it and carries out its decisions.
 */
import { z } from 'zod';
import { durationSchema } from '../../governance/capture-types.js';

export const phaseCriteriaSchema = z
  .object({
    /** Shadow: share of mirrored requests where the candidate's label matched production's. */
    minAgreement: z.number().min(0).max(1).optional(),
    /** The candidate's accuracy on the canary's adversarial probes at the end of the phase. */
    minCanaryAccuracy: z.number().min(0).max(1).optional(),
    /** Share of the candidate's requests a model-facing layer flagged or denied. */
    maxAnomalyRate: z.number().min(0).max(1).optional(),
    /** The candidate's inference p99, in milliseconds. */
    maxLatencyP99Ms: z.number().positive().optional(),
    /** Requests the phase must see before its criteria can pass (default 1 when any rate criterion is set). */
    minSamples: z.number().int().min(0).optional(),
  })
  .strict();
export type PhaseCriteria = z.infer<typeof phaseCriteriaSchema>;

export const rolloutPhaseSchema = z
  .object({
    name: z.string().min(1).max(64),
    /** Share of clients sent to the candidate (sticky by key); 0 mirrors traffic to it (shadow). */
    traffic: z.number().min(0).max(1),
    duration: durationSchema.default(0),
    criteria: phaseCriteriaSchema.default({}),
  })
  .strict();
export type RolloutPhase = z.infer<typeof rolloutPhaseSchema>;

export interface PhaseStats {
  requests: number;
  compared: number;
  agreed: number;
  anomalous: number;
  /** Bounded sample of candidate inference times (ms). */
  latencies: number[];
  canaryAccuracy: number | null;
}

export type RolloutState = 'running' | 'paused' | 'promoted' | 'rolled-back' | 'aborted';

export type RolloutDecision =
  | { kind: 'wait' }
  | { kind: 'advance'; from: string; to: string; measured: Record<string, number | null> }
  | { kind: 'promote'; measured: Record<string, number | null> }
  | { kind: 'rollback'; phase: string; failed: string[]; measured: Record<string, number | null> };

const LATENCY_SAMPLE = 2048;

const emptyStats = (): PhaseStats => ({ requests: 0, compared: 0, agreed: 0, anomalous: 0, latencies: [], canaryAccuracy: null });

function p99(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(0.99 * sorted.length) - 1)] as number;
}

export class RolloutController {
  state: RolloutState = 'running';
  index = 0;
  stats: PhaseStats = emptyStats();
  /** Time the current phase has run, excluding pauses, up to `since`. */
  private elapsed = 0;
  private since: number;
  readonly history: Array<{ phase: string; decision: RolloutDecision['kind']; at: string }> = [];

  constructor(
    readonly ref: string,
    readonly phases: readonly RolloutPhase[],
    private readonly now: () => number = Date.now,
  ) {
    this.since = now();
  }

  get phase(): RolloutPhase {
    return this.phases[this.index] as RolloutPhase;
  }

  /** True when the candidate answers for this client (sticky: the same client always falls on the same side). */
  routes(clientHash: number): boolean {
    return this.state === 'running' && this.phase.traffic > 0 && clientHash < this.phase.traffic;
  }

  /** True when production answers and the candidate scores a copy (shadow phases). */
  mirrors(): boolean {
    return this.state === 'running' && this.phase.traffic === 0;
  }

  recordServed(anomalous: boolean, latencyMs: number | null): void {
    this.stats.requests++;
    if (anomalous) this.stats.anomalous++;
    if (latencyMs !== null) this.sampleLatency(latencyMs);
  }

  recordMirrored(agreed: number, compared: number, latencyMs: number): void {
    this.stats.requests++;
    this.stats.compared += compared;
    this.stats.agreed += agreed;
    this.sampleLatency(latencyMs);
  }

  private sampleLatency(ms: number): void {
    const l = this.stats.latencies;
    if (l.length < LATENCY_SAMPLE) l.push(ms);
    else l[this.stats.requests % LATENCY_SAMPLE] = ms;
  }

  elapsedMs(): number {
    return this.elapsed + (this.state === 'running' ? this.now() - this.since : 0);
  }

  /** True when the phase's time is up (the plugin then measures the canary and calls `decide`). */
  due(): boolean {
    return this.state === 'running' && this.elapsedMs() >= this.phase.duration;
  }

  measured(): Record<string, number | null> {
    const s = this.stats;
    return {
      requests: s.requests,
      agreement: s.compared === 0 ? null : s.agreed / s.compared,
      anomalyRate: s.requests === 0 ? null : s.anomalous / s.requests,
      latencyP99Ms: p99(s.latencies),
      canaryAccuracy: s.canaryAccuracy,
    };
  }

  /** The failed criteria of the current phase, in words (empty when every one holds). */
  failures(): string[] {
    const c = this.phase.criteria;
    const m = this.measured();
    const failed: string[] = [];
    const rates = [c.minAgreement, c.maxAnomalyRate, c.maxLatencyP99Ms].some((v) => v !== undefined);
    const minSamples = c.minSamples ?? (rates ? 1 : 0);
    if ((m.requests ?? 0) < minSamples) failed.push(`only ${m.requests} requests seen, ${minSamples} needed`);
    const check = (name: string, value: number | null, bound: number | undefined, atLeast: boolean): void => {
      if (bound === undefined) return;
      if (value === null) failed.push(`${name} was not measured`);
      else if (atLeast ? value < bound : value > bound) failed.push(`${name} ${value.toFixed(3)} ${atLeast ? '<' : '>'} ${bound}`);
    };
    check('agreement', m.agreement ?? null, c.minAgreement, true);
    check('canary accuracy', m.canaryAccuracy ?? null, c.minCanaryAccuracy, true);
    check('anomaly rate', m.anomalyRate ?? null, c.maxAnomalyRate, false);
    check('latency p99 (ms)', m.latencyP99Ms ?? null, c.maxLatencyP99Ms, false);
    return failed;
  }

  /** Decides the current phase (call when `due()`): advance, promote or roll back. */
  decide(): RolloutDecision {
    if (!this.due()) return { kind: 'wait' };
    const measured = this.measured();
    const failed = this.failures();
    const at = new Date(this.now()).toISOString();
    const phase = this.phase.name;
    if (failed.length > 0) {
      this.state = 'rolled-back';
      this.history.push({ phase, decision: 'rollback', at });
      return { kind: 'rollback', phase, failed, measured };
    }
    if (this.index === this.phases.length - 1) {
      this.state = 'promoted';
      this.history.push({ phase, decision: 'promote', at });
      return { kind: 'promote', measured };
    }
    this.index++;
    this.stats = emptyStats();
    this.elapsed = 0;
    this.since = this.now();
    this.history.push({ phase, decision: 'advance', at });
    return { kind: 'advance', from: phase, to: this.phase.name, measured };
  }

  pause(): void {
    if (this.state !== 'running') return;
    this.elapsed += this.now() - this.since;
    this.state = 'paused';
  }

  resume(): void {
    if (this.state !== 'paused') return;
    this.since = this.now();
    this.state = 'running';
  }

  abort(): void {
    if (this.state === 'running' || this.state === 'paused') this.state = 'aborted';
  }

  active(): boolean {
    return this.state === 'running' || this.state === 'paused';
  }

  status(): Record<string, unknown> {
    return {
      ref: this.ref,
      state: this.state,
      phase: this.phase.name,
      index: this.index,
      phases: this.phases.map((p) => ({ name: p.name, traffic: p.traffic, durationMs: p.duration })),
      elapsedMs: this.elapsedMs(),
      measured: this.measured(),
      history: this.history,
    };
  }
}

/**
 * Live monitoring of what the model is asked and what it answers. Two things:
 *
 * - Drift: the population stability index (PSI) of per-example signals (calibrated
 *   confidence, OOD score, input mean, feature norm) over a sliding window of recent
 *   requests, against a reference: the fit-time distribution when the model ships one, else
 *   the first requests the model served. PSI = Σ (aᵢ − eᵢ) ln(aᵢ / eᵢ) over reference-decile
 *   bins; the usual reading is < 0.1 stable, 0.1–0.25 moderate, > 0.25 a real shift.
 * - The anomaly rate: the fraction of recent examples some defence flagged or denied,
 *   weighted per client (see anomaly-window.ts).
 *
 * Both become metrics; crossing the drift level is logged once per excursion (it re-arms
 * only after falling back under 80% of the level, so a signal hovering at the line does
 * not flood the log).
 */

import { AnomalyWindow, type SampledExample } from './anomaly-window.js';

export interface MonitorOptions {
  /** Recent examples per signal compared with the reference (default 500). */
  window?: number;
  /** Live examples that form a reference when none was given (default 500). */
  referenceSize?: number;
  /** Fewest examples in the window before PSI is reported (default 100). */
  minSamples?: number;
  /** PSI at which drift is logged (default 0.25). */
  psiAlert?: number;
  /** Recent examples the anomaly rate is taken over (default 1000). */
  anomalyWindow?: number;
  /** Recent examples kept to judge another model on the same traffic (default 256). */
  anomalySample?: number;
  bins?: number;
}

export interface MonitorEvents {
  onDrift?(signal: string, psi: number): void;
  onPsi?(signal: string, psi: number): void;
  onAnomalyRate?(rate: number): void;
}

/**
 * A reference distribution cut into bins at its quantiles, with its bin proportions, so a
 * window is compared against it without sorting the reference again (the monitor checks
 * every 25 examples, and a fit-time reference holds thousands of scores).
 */
export class PsiReference {
  private readonly edges: number[] = [];
  private readonly expected: number[];

  constructor(reference: readonly number[], bins = 10) {
    const sorted = [...reference].sort((a, b) => a - b);
    for (let b = 1; b < bins; b++) {
      const e = sorted[Math.floor((b * sorted.length) / bins)] as number;
      if (this.edges.length === 0 || e > (this.edges[this.edges.length - 1] as number)) this.edges.push(e);
    }
    this.expected = this.histogram(reference);
  }

  /** Bin proportions of `values`, empty bins floored so PSI stays finite. */
  private histogram(values: readonly number[]): number[] {
    const edges = this.edges;
    const counts: number[] = new Array(edges.length + 1).fill(0);
    for (const v of values) {
      let lo = 0;
      let hi = edges.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (v < (edges[mid] as number)) hi = mid;
        else lo = mid + 1;
      }
      counts[lo] = (counts[lo] as number) + 1;
    }
    return counts.map((c) => Math.max(c / values.length, 1e-4));
  }

  /** PSI of `current` against this reference. */
  against(current: readonly number[]): number {
    if (current.length === 0) return 0;
    const e = this.expected;
    const a = this.histogram(current);
    let sum = 0;
    for (let i = 0; i < e.length; i++) sum += ((a[i] as number) - (e[i] as number)) * Math.log((a[i] as number) / (e[i] as number));
    return sum;
  }
}

/**
 * Population stability index of `current` against `reference`, over bins cut at the
 * reference's quantiles. Empty bins are smoothed with a small floor so PSI stays finite.
 */
export function psi(reference: readonly number[], current: readonly number[], bins = 10): number {
  if (reference.length === 0 || current.length === 0) return 0;
  return new PsiReference(reference, bins).against(current);
}

class Ring {
  private readonly values: number[] = [];
  private next = 0;
  constructor(readonly capacity: number) {}
  push(v: number): void {
    if (this.values.length < this.capacity) this.values.push(v);
    else {
      this.values[this.next] = v;
      this.next = (this.next + 1) % this.capacity;
    }
  }
  get size(): number {
    return this.values.length;
  }
  all(): readonly number[] {
    return this.values;
  }
  clear(): void {
    this.values.length = 0;
    this.next = 0;
  }
}

interface SignalState {
  reference: number[];
  /** True when the reference was given (fit time) rather than gathered live. */
  fixed: boolean;
  window: Ring;
  sinceCheck: number;
  /** The reference's bins, cut once it is complete (cleared when it changes). */
  bins: PsiReference | undefined;
  psi: number | undefined;
  alerting: boolean;
}

export interface MonitorSnapshot {
  anomalyRate: number;
  requests: number;
  drift: Record<string, { psi: number | null; window: number; reference: number; referenceFrom: 'fit' | 'live' }>;
}

export class DriftMonitor {
  private readonly o: Required<MonitorOptions>;
  private readonly signals = new Map<string, SignalState>();
  private readonly anomalies: AnomalyWindow;
  private requests = 0;

  constructor(
    options: MonitorOptions = {},
    private readonly events: MonitorEvents = {},
  ) {
    this.o = {
      window: 500,
      referenceSize: 500,
      minSamples: 100,
      psiAlert: 0.25,
      anomalyWindow: 1000,
      anomalySample: 256,
      bins: 10,
      ...options,
    };
    this.anomalies = new AnomalyWindow(this.o.anomalyWindow, this.o.anomalySample);
  }

  private state(signal: string): SignalState {
    let s = this.signals.get(signal);
    if (!s) {
      s = { reference: [], fixed: false, window: new Ring(this.o.window), sinceCheck: 0, bins: undefined, psi: undefined, alerting: false };
      this.signals.set(signal, s);
    }
    return s;
  }

  /** Fixes a signal's reference distribution (e.g. fit-time OOD scores). */
  setReference(signal: string, values: readonly number[]): void {
    const s = this.state(signal);
    s.reference = [...values];
    s.bins = undefined;
    s.fixed = true;
    s.window.clear();
    s.psi = undefined;
  }

  /** Forgets live references and windows (after a model swap: the new model answers differently). */
  resetForNewModel(): void {
    this.anomalies.clear();
    for (const [name, s] of this.signals) {
      if (!s.fixed) this.signals.delete(name);
      else {
        s.window.clear();
        s.psi = undefined;
        s.alerting = false;
      }
    }
  }

  /** Records one example's signals. */
  observe(values: Record<string, number | undefined>): void {
    // for-in rather than Object.entries: no arrays allocated per example.
    for (const signal in values) this.observeOne(signal, values[signal]);
  }

  /** `observe` for the served signals, without an object per example (the predict route calls it for every example). */
  observeSignals(
    confidence: number | undefined,
    ood: number | undefined,
    inputMean: number | undefined,
    featureNorm: number | undefined,
  ): void {
    this.observeOne('confidence', confidence);
    this.observeOne('ood', ood);
    this.observeOne('input_mean', inputMean);
    this.observeOne('feature_norm', featureNorm);
  }

  private observeOne(signal: string, v: number | undefined): void {
    if (v === undefined || !Number.isFinite(v)) return;
    const s = this.state(signal);
    if (!s.fixed && s.reference.length < this.o.referenceSize) {
      s.reference.push(v);
      s.bins = undefined;
      return;
    }
    s.window.push(v);
    // PSI sorts the reference; every 25 examples is plenty for a window of hundreds.
    if (++s.sinceCheck >= 25 && s.window.size >= this.o.minSamples) {
      s.sinceCheck = 0;
      this.check(signal, s);
    }
  }

  private check(signal: string, s: SignalState): void {
    const value = s.reference.length === 0 ? 0 : (s.bins ??= new PsiReference(s.reference, this.o.bins)).against(s.window.all());
    s.psi = value;
    this.events.onPsi?.(signal, value);
    if (!s.alerting && value >= this.o.psiAlert) {
      s.alerting = true;
      this.events.onDrift?.(signal, value);
    } else if (s.alerting && value < 0.8 * this.o.psiAlert) s.alerting = false;
  }

  /** Records one example, from an unnamed client, as flagged or denied by a defence or not. */
  recordRequest(anomalous: boolean): void {
    this.recordExamples('-', [anomalous]);
  }

  /** Records one request's examples (one flag each) from `client`, with their inputs when given. */
  recordExamples(client: string, anomalous: readonly boolean[], inputs?: ReadonlyArray<Omit<SampledExample, 'client'>>): void {
    this.requests++;
    this.anomalies.record(client, anomalous, inputs);
    this.events.onAnomalyRate?.(this.anomalyRate());
  }

  /** `recordExamples` for a request of one example, without the arrays. */
  recordExample(client: string, anomalous: boolean, input?: Omit<SampledExample, 'client'>): void {
    this.requests++;
    this.anomalies.recordOne(client, anomalous, input);
    this.events.onAnomalyRate?.(this.anomalyRate());
  }

  /** Mean over the window's clients of each client's anomalous fraction of examples. */
  anomalyRate(): number {
    return this.anomalies.rate();
  }

  /** Examples in the anomaly window (the rate is noise until it fills). */
  anomalySamples(): number {
    return this.anomalies.size();
  }

  /** Distinct clients in the anomaly window. */
  anomalyClients(): number {
    return this.anomalies.clients();
  }

  /** Recent examples with their clients, to judge another model on the same traffic. */
  sampled(): readonly SampledExample[] {
    return this.anomalies.sampled();
  }

  snapshot(): MonitorSnapshot {
    const drift: MonitorSnapshot['drift'] = {};
    for (const [name, s] of this.signals) {
      drift[name] = { psi: s.psi ?? null, window: s.window.size, reference: s.reference.length, referenceFrom: s.fixed ? 'fit' : 'live' };
    }
    return { anomalyRate: this.anomalyRate(), requests: this.requests, drift };
  }
}

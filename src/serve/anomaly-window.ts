/**
 * The anomaly rate a rollback may act on, counted per example and weighted per client.
 *
 * A request used to count as anomalous when any one of its examples was flagged, so an
 * ordinary client sending 64 digits per request looked like an attack, and every request
 * weighed the same, so one client flooding noise set the rate alone. Here each example is
 * one observation, the rate is the mean over clients of each client's own rate (a client
 * sending a thousand examples weighs what a client sending ten does), and the number of
 * distinct clients is reported so a rollback can require many. The last `sample` examples
 * are kept, with their client, so the previous model can be judged on the same traffic.
 */
import { SampleRing, type SampledExample } from './sample-ring.js';

export type { SampledExample } from './sample-ring.js';

/**
 * The window's observations as two parallel arrays (client, anomalous) rather than an
 * object each: every example of every request enters it, and objects that live for a
 * thousand examples are what the garbage collector pays most for.
 */
class ObservationRing {
  private readonly clients: string[] = [];
  private readonly flags: Uint8Array;
  private next = 0;
  /** What the last `push` pushed out, when it did. */
  outClient = '';
  outAnomalous = false;

  constructor(readonly capacity: number) {
    this.flags = new Uint8Array(capacity);
  }

  /** Adds one observation; true when the ring was full and the oldest went out (see `outClient`). */
  push(client: string, anomalous: boolean): boolean {
    const full = this.clients.length === this.capacity;
    const at = full ? this.next : this.clients.length;
    if (full) {
      this.outClient = this.clients[at] as string;
      this.outAnomalous = this.flags[at] === 1;
      this.clients[at] = client;
      this.next = (this.next + 1) % this.capacity;
    } else this.clients.push(client);
    this.flags[at] = anomalous ? 1 : 0;
    return full;
  }

  get size(): number {
    return this.clients.length;
  }

  clear(): void {
    this.clients.length = 0;
    this.next = 0;
  }
}

/** Mean over clients of each client's anomalous fraction; 0 for no observations. */
export function clientWeightedRate(observations: ReadonlyArray<{ client: string; anomalous: boolean }>): { rate: number; clients: number } {
  const per = new Map<string, { n: number; bad: number }>();
  for (const o of observations) {
    const c = per.get(o.client) ?? { n: 0, bad: 0 };
    c.n++;
    if (o.anomalous) c.bad++;
    per.set(o.client, c);
  }
  if (per.size === 0) return { rate: 0, clients: 0 };
  let sum = 0;
  for (const c of per.values()) sum += c.bad / c.n;
  return { rate: sum / per.size, clients: per.size };
}

export class AnomalyWindow {
  private readonly observations: ObservationRing;
  private readonly samples: SampleRing;
  /** Per-client counts over the window, kept as observations enter and leave (the rate is read on every request). */
  private readonly perClient = new Map<string, { n: number; bad: number }>();
  /** Σ over clients of bad/n, kept as counts change (O(1) per example), re-summed now and then against float drift. */
  private sum = 0;
  private sinceResum = 0;

  /** `window` examples feed the rate; the last `sample` of them are kept for the comparison. */
  constructor(window: number, sample: number) {
    this.observations = new ObservationRing(window);
    this.samples = new SampleRing(Math.min(sample, window));
  }

  /** Records one request's examples: whether each was anomalous, and its input when given. */
  record(client: string, anomalous: readonly boolean[], inputs?: ReadonlyArray<Omit<SampledExample, 'client'>>): void {
    for (let i = 0; i < anomalous.length; i++) this.recordOne(client, anomalous[i] as boolean, inputs?.[i]);
  }

  /** One example: what `record` does per example, without the arrays (most requests hold one). */
  recordOne(client: string, anomalous: boolean, input?: Omit<SampledExample, 'client'>): void {
    const ring = this.observations;
    if (ring.push(client, anomalous)) {
      const c = this.perClient.get(ring.outClient) as { n: number; bad: number };
      this.sum -= c.bad / c.n;
      c.n--;
      if (ring.outAnomalous) c.bad--;
      if (c.n === 0) this.perClient.delete(ring.outClient);
      else this.sum += c.bad / c.n;
    }
    let c = this.perClient.get(client);
    if (c) this.sum -= c.bad / c.n;
    else {
      c = { n: 0, bad: 0 };
      this.perClient.set(client, c);
    }
    c.n++;
    if (anomalous) c.bad++;
    this.sum += c.bad / c.n;
    if (++this.sinceResum >= 10_000) this.resum();
    if (input) this.samples.push(client, input);
  }

  private resum(): void {
    this.sinceResum = 0;
    this.sum = 0;
    for (const c of this.perClient.values()) this.sum += c.bad / c.n;
  }

  /** Mean over the window's clients of each client's anomalous fraction. */
  rate(): number {
    if (this.perClient.size === 0) return 0;
    return Math.min(1, Math.max(0, this.sum / this.perClient.size));
  }

  /** Examples in the window (the rate is noise until it fills). */
  size(): number {
    return this.observations.size;
  }

  /** Distinct clients in the window. */
  clients(): number {
    return this.perClient.size;
  }

  /** The kept examples with their clients. */
  sampled(): SampledExample[] {
    return this.samples.all();
  }

  clear(): void {
    this.observations.clear();
    this.samples.clear();
    this.perClient.clear();
    this.sum = 0;
    this.sinceResum = 0;
  }
}

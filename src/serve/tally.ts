/**
 * Per-layer metrics that cost a request a Map lookup and an addition. prom-client's
 * labelled `inc`/`observe` build a label hash string and validate the labels on every
 * call; the guard records two metrics per layer per request (five layers by default), and
 * that was a measurable part of what the layers cost. Here the numbers are kept in plain
 * arrays and turned into prom-client's metric values only when `/metrics` is scraped, with
 * the same names, labels and exposition format as prom-client's own counter and histogram.
 */
import type { Metric, Registry } from 'prom-client';

interface MetricValue {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

interface Collected {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  aggregator: 'sum';
  values: MetricValue[];
}

/** A collector the registry scrapes like one of prom-client's own metrics. */
abstract class Tally {
  abstract readonly type: 'counter' | 'histogram';

  constructor(
    readonly name: string,
    readonly help: string,
    registry: Registry,
  ) {
    registry.registerMetric(this as unknown as Metric);
  }

  /** What the registry reads on a scrape. */
  get(): Promise<Collected> {
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: 'sum', values: this.values() });
  }

  protected abstract values(): MetricValue[];
  abstract reset(): void;
}

/** A counter with two labels, e.g. `{ layer, decision }`. */
export class PairCounter extends Tally {
  readonly type = 'counter';
  /** Cells in first-seen order (the exposition order), found through a map per first label: no key string built per call. */
  private readonly cells: Array<{ a: string; b: string; n: number }> = [];
  private readonly counts = new Map<string, Map<string, { a: string; b: string; n: number }>>();

  constructor(
    options: { name: string; help: string; labelNames: readonly [string, string]; registry: Registry },
    private readonly labelNames = options.labelNames,
  ) {
    super(options.name, options.help, options.registry);
  }

  inc(a: string, b: string, by = 1): void {
    let byB = this.counts.get(a);
    if (!byB) {
      byB = new Map();
      this.counts.set(a, byB);
    }
    const c = byB.get(b);
    if (c) c.n += by;
    else {
      const cell = { a, b, n: by };
      byB.set(b, cell);
      this.cells.push(cell);
    }
  }

  protected values(): MetricValue[] {
    const [la, lb] = this.labelNames;
    return this.cells.map((c) => ({ labels: { [la]: c.a, [lb]: c.b }, value: c.n }));
  }

  reset(): void {
    this.counts.clear();
    this.cells.length = 0;
  }
}

/** A histogram with one label, e.g. `{ layer }`. */
export class LabelHistogram extends Tally {
  readonly type = 'histogram';
  private readonly series = new Map<string, { buckets: Float64Array; sum: number; count: number }>();
  private readonly bounds: Float64Array;

  constructor(
    options: { name: string; help: string; labelName: string; buckets: readonly number[]; registry: Registry },
    private readonly labelName = options.labelName,
  ) {
    super(options.name, options.help, options.registry);
    this.bounds = Float64Array.from(options.buckets);
  }

  observe(label: string, value: number): void {
    let s = this.series.get(label);
    if (!s) {
      s = { buckets: new Float64Array(this.bounds.length), sum: 0, count: 0 };
      this.series.set(label, s);
    }
    // The first bucket whose bound holds the value (prom-client's `le`); past the last, only +Inf.
    let b = 0;
    while (b < this.bounds.length && value > (this.bounds[b] as number)) b++;
    if (b < this.bounds.length) s.buckets[b] = (s.buckets[b] as number) + 1;
    s.sum += value;
    s.count++;
  }

  protected values(): MetricValue[] {
    const out: MetricValue[] = [];
    for (const [label, s] of this.series) {
      const labels = { [this.labelName]: label };
      let acc = 0;
      this.bounds.forEach((le, b) => {
        acc += s.buckets[b] as number;
        out.push({ labels: { le, ...labels }, value: acc, metricName: `${this.name}_bucket` });
      });
      out.push({ labels: { le: '+Inf', ...labels }, value: s.count, metricName: `${this.name}_bucket` });
      out.push({ labels, value: s.sum, metricName: `${this.name}_sum` });
      out.push({ labels, value: s.count, metricName: `${this.name}_count` });
    }
    return out;
  }

  reset(): void {
    this.series.clear();
  }
}

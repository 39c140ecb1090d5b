/**
 * The server's Prometheus metrics, on a registry of its own (not prom-client's global
 * one), so two servers in one process (tests, the benchmark) never share counters. The
 * server serves them at `/metrics` to operator keys unless `auth.metricsPublic` is set:
 * the anomaly rate and the canary's accuracy are a timer for an attacker.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { LabelHistogram, PairCounter } from './tally.js';

export interface ServeMetrics {
  readonly registry: Registry;
  readonly requests: Counter<'route' | 'method' | 'status'>;
  readonly latency: Histogram<'route'>;
  /** By layer and decision; recorded per layer per request, so kept in plain numbers (tally.ts). */
  readonly decisions: PairCounter;
  readonly layerSeconds: LabelHistogram;
  readonly anomalyRate: Gauge;
  /** Makes the anomaly-rate gauge read `rate()` whenever it is scraped (instead of being set on every request). */
  readAnomalyRate(rate: () => number): void;
  readonly canaryAccuracy: Gauge;
  readonly canaryRuns: Counter<'outcome'>;
  readonly drift: Gauge<'signal'>;
  readonly rollbacks: Counter<'trigger'>;
  readonly alerts: Counter<'kind'>;
  readonly modelInfo: Gauge<'model' | 'source'>;
  readonly swaps: Counter;
}

/**
 * Drops prom-client's default gauges named `_total` (`nodejs_active_handles_total` and
 * kin): the suffix promises a counter, so `promtool check metrics` refuses them, and each
 * is the sum of a by-type gauge that stays (`nodejs_active_handles{type}`).
 */
function dropTotalGauges(registry: Registry): void {
  for (const metric of registry.getMetricsAsArray()) {
    const { name, type } = metric as unknown as { name: string; type: string };
    if (type !== 'counter' && name.endsWith('_total')) registry.removeSingleMetric(name);
  }
}

/**
 * Creates the metric set; `defaults` adds process metrics (CPU, memory, event-loop lag).
 * The names follow Prometheus' rules (`promtool check metrics`): counters end in `_total`,
 * nothing else does, and units are base units (`_seconds`, `_bytes`).
 */
export function createMetrics(options: { defaults?: boolean } = {}): ServeMetrics {
  const registry = new Registry();
  let anomalySource: (() => number) | undefined;
  if (options.defaults !== false) {
    collectDefaultMetrics({ register: registry, prefix: 'rampart_' });
    dropTotalGauges(registry);
  }
  const m: ServeMetrics = {
    registry,
    requests: new Counter({
      name: 'rampart_http_requests_total',
      help: 'HTTP requests by route, method and status.',
      labelNames: ['route', 'method', 'status'],
      registers: [registry],
    }),
    latency: new Histogram({
      name: 'rampart_http_request_duration_seconds',
      help: 'Request latency by route.',
      labelNames: ['route'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    decisions: new PairCounter({
      name: 'rampart_layer_decisions_total',
      help: 'Defence layer decisions.',
      labelNames: ['layer', 'decision'],
      registry,
    }),
    layerSeconds: new LabelHistogram({
      name: 'rampart_layer_duration_seconds',
      help: 'Time spent in each defence layer.',
      labelName: 'layer',
      buckets: [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05],
      registry,
    }),
    anomalyRate: new Gauge({
      name: 'rampart_anomaly_rate',
      help: 'Fraction of recent predict requests that a layer flagged or denied.',
      registers: [registry],
      collect() {
        if (anomalySource) this.set(anomalySource());
      },
    }),
    readAnomalyRate(rate) {
      anomalySource = rate;
    },
    canaryAccuracy: new Gauge({
      name: 'rampart_canary_robust_accuracy',
      help: 'Accuracy of the live model on the adversarial probe set at the last canary run.',
      registers: [registry],
    }),
    canaryRuns: new Counter({
      name: 'rampart_canary_runs_total',
      help: 'Canary probe runs.',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    drift: new Gauge({
      name: 'rampart_drift_psi',
      help: 'Population stability index of a monitored signal against its reference.',
      labelNames: ['signal'],
      registers: [registry],
    }),
    rollbacks: new Counter({
      name: 'rampart_rollbacks_total',
      help: 'Automatic and manual rollbacks.',
      labelNames: ['trigger'],
      registers: [registry],
    }),
    alerts: new Counter({ name: 'rampart_alerts_total', help: 'Alerts raised.', labelNames: ['kind'], registers: [registry] }),
    modelInfo: new Gauge({
      name: 'rampart_model_info',
      help: 'The live model (value 1).',
      labelNames: ['model', 'source'],
      registers: [registry],
    }),
    swaps: new Counter({ name: 'rampart_model_swaps_total', help: 'Hot swaps of the live model.', registers: [registry] }),
  };
  return m;
}

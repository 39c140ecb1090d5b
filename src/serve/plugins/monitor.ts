/**
 * The drift monitor and the anomaly window as a plugin (`driftMonitor`), and what the
 * predict route tells it about each request: per example, whether a layer that judges
 * inputs or answers flagged or denied it, its signals for drift, and its input for the
 * comparison a rollback makes. Traffic layers' verdicts (rate limits, query patterns) are
 * about the caller, not the model, and are left out.
 */
import type { FastifyInstance } from 'fastify';
import type { GuardContext, ModelOutput } from '../../defenses/layer.js';
import type { SampledExample } from '../anomaly-window.js';
import { TRAFFIC_LAYERS } from '../layers.js';
import { DriftMonitor } from '../monitor.js';
import { servePlugin } from './plugin.js';

export const monitorPlugin = servePlugin('rampart-monitor', { decorators: ['serveCore'] }, async (app: FastifyInstance) => {
  const { config, metrics, log, alertRules, alert } = app.serveCore;
  const raise = (a: ReturnType<typeof alertRules.psi>): void => void (a && alert(a.kind, a.details));
  const anomaly = config.rollback === false ? undefined : config.rollback.anomaly;
  const monitor =
    config.monitor === false
      ? undefined
      : new DriftMonitor(
          { ...config.monitor, ...(anomaly && anomaly.sample !== undefined ? { anomalySample: anomaly.sample } : {}) },
          {
            onPsi: (signal, value) => {
              metrics.drift.set({ signal }, value);
              raise(alertRules.psi(signal, value));
            },
            onDrift: (signal, value) => log.warn({ event: 'drift', signal, psi: value }, `drift on ${signal}: PSI ${value.toFixed(3)}`),
            // The gauge reads the rate when scraped (below): setting it costs a label hash per request.
            onAnomalyRate: (rate) => raise(alertRules.anomaly(rate)),
          },
        );
  app.decorate('driftMonitor', monitor);
  if (monitor) metrics.readAnomalyRate(() => monitor.anomalyRate());
  app.serveCore.onLive((model) => {
    if (!monitor) return;
    monitor.resetForNewModel();
    if (model.ood?.json.referenceScores)
      monitor.setReference(
        'ood',
        model.ood.json.referenceScores.map((s) => s / (model.ood?.threshold ?? 1)),
      );
  });
});

function inputsOf(ctx: GuardContext): Array<Omit<SampledExample, 'client'>> | undefined {
  if (ctx.texts) return ctx.texts.map((text) => ({ text }));
  const batch = ctx.batch;
  if (!batch) return undefined;
  // Views, not copies: the anomaly window copies what it keeps (sample-ring.ts).
  if (batch.count === 1) return [{ x: batch.x, shape: batch.shape }];
  const size = batch.x.length / batch.count;
  return Array.from({ length: batch.count }, (_, i) => ({ x: batch.x.subarray(i * size, (i + 1) * size), shape: batch.shape }));
}

/** Records a request a judging layer denied: every example in it counts as anomalous. */
export function recordDenied(monitor: DriftMonitor | undefined, ctx: GuardContext, layer: string): void {
  if (!monitor || TRAFFIC_LAYERS.has(layer)) return;
  const inputs = inputsOf(ctx);
  monitor.recordExamples(ctx.clientId, new Array<boolean>(inputs?.length ?? 1).fill(true), inputs);
}

/** Records an answered request: drift signals and, per example, whether a judging layer flagged it. */
export function recordAnswered(
  monitor: DriftMonitor | undefined,
  ctx: GuardContext,
  output: ModelOutput,
  flagged: ReadonlyMap<string, readonly number[]>,
  perExample: ReadonlyMap<string, number[]>,
): void {
  if (!monitor) return;
  const ood = perExample.get('ood');
  const size = ctx.batch ? ctx.batch.x.length / ctx.batch.count : 0;
  const count = output.labels.length;
  const x = ctx.batch?.x;
  for (let i = 0; i < count; i++) {
    const p = output.probabilities[i] as Float32Array;
    let mean: number | undefined;
    if (x) {
      let sum = 0;
      for (let k = i * size, end = (i + 1) * size; k < end; k++) sum += x[k] as number;
      mean = sum / size;
    }
    let norm: number | undefined;
    const f = output.features?.[i];
    if (f) {
      let sq = 0;
      for (let k = 0; k < f.length; k++) sq += (f[k] as number) * (f[k] as number);
      norm = Math.sqrt(sq);
    }
    monitor.observeSignals(p[output.labels[i] as number], ood?.[i], mean, norm);
  }
  if (count === 1) {
    // The common request: one example, no arrays.
    let anomalous = false;
    for (const [layer, examples] of flagged) if (!TRAFFIC_LAYERS.has(layer) && examples.includes(0)) anomalous = true;
    const input = ctx.texts ? { text: ctx.texts[0] as string } : ctx.batch ? { x: ctx.batch.x, shape: ctx.batch.shape } : undefined;
    monitor.recordExample(ctx.clientId, anomalous, input);
    return;
  }
  const anomalous = new Array<boolean>(count).fill(false);
  for (const [layer, examples] of flagged) {
    if (TRAFFIC_LAYERS.has(layer)) continue;
    for (const i of examples) if (i < count) anomalous[i] = true;
  }
  monitor.recordExamples(ctx.clientId, anomalous, inputsOf(ctx));
}

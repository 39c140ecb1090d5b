/** `POST /v1/predict`: one guarded prediction for a batch of images or texts. */
import type { FastifyInstance } from 'fastify';
import { ServeError } from '../../core/errors.js';
import type { GuardContext } from '../../defenses/layer.js';
import { addressGroup } from '../../defenses/rate-limit/index.js';
import { guardedPredict } from '../guard.js';

/**
 * Layers that judge traffic (who asks, how often) rather than inputs or answers. Their
 * flags are attacks on the service, not signs of a bad model, so they stay out of the
 * anomaly rate that can roll the model back (a flood must not roll back a good model).
 */
const TRAFFIC_LAYERS: ReadonlySet<string> = new Set(['rate-limit', 'query-pattern']);

export function registerPredictRoutes(app: FastifyInstance): void {
  app.post('/v1/predict', { config: { role: 'predict', metered: true } }, async (req) => {
    const state = app.rampart;
    const s = state.request(req);
    const lease = state.holder.acquire();
    const generation = state.holder.generation;
    try {
      const model = lease.model;
      const ctx: GuardContext = { clientId: s.principal ? `key:${s.principal.keyId}` : `ip:${addressGroup(req.ip)}`, address: req.ip, model: model.view, body: req.body };
      let result;
      try {
        result = await guardedPredict(model, state.layers, ctx, s.trace, state.metrics);
      } catch (error) {
        // A malformed body is the client's bug; a denial by a defence is logged, and counts
        // towards the anomaly rate when the layer speaks about the model's inputs or answers.
        if (error instanceof ServeError) {
          if (!TRAFFIC_LAYERS.has(String(error.details.layer))) state.monitor?.recordRequest(true);
          state.log.warn({ event: 'denied', client: ctx.clientId, code: error.code, layer: error.details.layer, model: model.view.id }, error.message);
        }
        throw error;
      }
      const { output, flaggedExamples, perExample } = result;
      const abstained = new Set(flaggedExamples.get('abstain') ?? []);
      const flagsOf = (i: number): string[] => [...flaggedExamples].filter(([layer, ex]) => layer !== 'abstain' && ex.includes(i)).map(([layer]) => layer);
      const flaggedLayers = s.trace.filter((t) => t.decision === 'flag').map((t) => t.layer);
      const predictions = output.probabilities.map((p, i) => {
        const label = output.labels[i] as number;
        const out: Record<string, unknown> = {
          label: abstained.has(i) ? null : label,
          class: abstained.has(i) ? null : (model.classes[label] ?? String(label)),
          confidence: Math.round((p[label] as number) * 1e6) / 1e6,
          probabilities: Array.from(p, (v) => Math.round(v * 1e6) / 1e6),
          abstained: abstained.has(i),
        };
        const flags = flagsOf(i);
        if (flags.length > 0) out.flags = flags;
        return out;
      });
      if (state.monitor) {
        const ood = perExample.get('ood');
        const size = ctx.batch ? ctx.batch.x.length / ctx.batch.count : 0;
        output.probabilities.forEach((p, i) => {
          let mean: number | undefined;
          if (ctx.batch) {
            let sum = 0;
            for (let k = i * size; k < (i + 1) * size; k++) sum += ctx.batch.x[k] as number;
            mean = sum / size;
          }
          let norm: number | undefined;
          const f = output.features?.[i];
          if (f) {
            let sq = 0;
            for (const v of f) sq += v * v;
            norm = Math.sqrt(sq);
          }
          state.monitor?.observe({ confidence: p[output.labels[i] as number], ood: ood?.[i], input_mean: mean, feature_norm: norm });
        });
        state.monitor.recordRequest(flaggedLayers.some((layer) => !TRAFFIC_LAYERS.has(layer)));
      }
      if (flaggedLayers.length > 0) state.log.info({ event: 'flagged', client: ctx.clientId, layers: flaggedLayers, model: model.view.id }, 'request flagged');
      return { model: { id: model.view.id, generation }, predictions, flagged: flaggedLayers.length > 0, trace: s.trace };
    } finally {
      lease.release();
    }
  });
}

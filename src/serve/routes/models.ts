/** `GET /v1/models`: the live model, what a rollback would restore, and the ensemble. */
import type { FastifyInstance } from 'fastify';

export function registerModelRoutes(app: FastifyInstance): void {
  app.get('/v1/models', { config: { role: 'predict' } }, async () => {
    const state = app.rampart;
    const m = state.holder.current;
    return {
      models: [
        {
          id: m.view.id,
          kind: m.view.kind,
          role: 'live',
          source: m.ref,
          inputShape: m.view.inputShape,
          bounds: m.view.bounds,
          classes: m.classes,
          temperature: m.temperature,
          ood: m.ood ? { source: m.ood.source, dims: m.ood.dims, threshold: m.ood.threshold, quantile: m.ood.json.quantile } : null,
          // A text filter's operating point: the normaliser it reads text through and its decision threshold.
          ...(m.view.kind === 'text' ? { info: m.info } : {}),
          loadedAt: m.loadedAt,
          generation: state.holder.generation,
        },
      ],
      previous: state.source.previous() ?? null,
      ensemble: state.ensembleIds,
      layers: ['auth', 'rate-limit', ...state.layers.map((l) => l.id)].filter((id) => (id === 'auth' ? state.keys !== undefined : id === 'rate-limit' ? state.config.layers.rateLimit !== false : true)),
    };
  });
}

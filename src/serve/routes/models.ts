/**
 * `GET /v1/models`: the live model. A caller below the operator role sees what it needs to
 * form a request (kind, input shape, bounds, classes); operators also see where the model
 * came from, its OOD threshold and temperature, what a rollback would restore, the ensemble
 * and the layers.
 */
import type { FastifyInstance } from 'fastify';
import { seesDetails } from '../disclosure.js';

export function registerModelRoutes(app: FastifyInstance): void {
  app.get('/v1/models', { config: { role: 'predict' } }, async (req) => {
    const state = app.rampart;
    const m = state.holder.current;
    const basic = {
      kind: m.view.kind,
      role: 'live',
      inputShape: m.view.inputShape,
      bounds: m.view.bounds,
      classes: m.classes,
      loadedAt: m.loadedAt,
      generation: state.holder.generation,
    };
    if (!seesDetails(state.config, req.principal)) return { models: [basic] };
    return {
      models: [
        {
          id: m.view.id,
          ...basic,
          source: m.ref,
          temperature: m.temperature,
          ood: m.ood ? { source: m.ood.source, dims: m.ood.dims, threshold: m.ood.threshold, quantile: m.ood.json.quantile } : null,
          // A text filter's operating point: the normaliser it reads text through and its decision threshold.
          ...(m.view.kind === 'text' ? { info: m.info } : {}),
        },
      ],
      previous: state.source.previous() ?? null,
      ensemble: state.ensembleIds,
      layers: ['auth', 'rate-limit', ...state.layers.map((l) => l.id)].filter((id) =>
        id === 'auth' ? state.keys !== undefined : id === 'rate-limit' ? state.config.layers.rateLimit !== false : true,
      ),
    };
  });
}

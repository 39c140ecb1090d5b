/** Liveness, readiness and Prometheus metrics. */
import type { FastifyInstance } from 'fastify';

export function registerHealthRoutes(app: FastifyInstance): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  // Fastify answers 503 by itself once closing starts, which is what a load balancer needs to drain.
  // Public, so it names no model (ids carry paths); operators read /v1/admin/status.
  app.get('/readyz', async () => ({
    status: 'ready',
    generation: app.rampart.holder.generation,
    ...(app.rampart.config.disclosure === 'full' ? { model: app.rampart.holder.current.view.id } : {}),
  }));
  app.get('/metrics', { config: app.rampart.config.auth.metricsPublic ? {} : { role: 'operator' } }, async (_req, reply) => {
    const registry = app.rampart.metrics.registry;
    reply.header('content-type', registry.contentType);
    return registry.metrics();
  });
}

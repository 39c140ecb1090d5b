/**
 * Operator and admin routes. Operators read status and run the canary on demand; only
 * admins move the live model (promote, rollback), and every move is audited by the source.
 */
import type { FastifyInstance } from 'fastify';
import { InputError, ServeError } from '../../core/errors.js';

function stringField(body: unknown, field: string, required: boolean): string | undefined {
  const value = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[field] : undefined;
  if (value === undefined && !required) return undefined;
  if (typeof value !== 'string' || value.trim() === '' || value.length > 1000) {
    throw new InputError('E_BODY_SHAPE', `'${field}' must be a non-empty string (at most 1000 characters).`, { details: { field } });
  }
  return value;
}

export function registerAdminRoutes(app: FastifyInstance): void {
  app.get('/v1/admin/status', { config: { role: 'operator' } }, async () => {
    const state = app.rampart;
    return {
      model: state.holder.current.view.id,
      generation: state.holder.generation,
      inFlight: state.holder.inFlight(),
      source: state.source.describe(),
      previous: state.source.previous() ?? null,
      monitor: state.monitor?.snapshot() ?? null,
      canary: state.canary
        ? { last: state.canary.last ?? null, probes: state.canary.probes.labels.length, source: state.canary.probes.source }
        : null,
      rollback: state.controller?.state() ?? null,
      anomaly: state.monitor
        ? { rate: state.monitor.anomalyRate(), examples: state.monitor.anomalySamples(), clients: state.monitor.anomalyClients() }
        : null,
    };
  });

  app.post('/v1/admin/canary', { config: { role: 'operator' } }, async () => {
    const canary = app.rampart.canary;
    if (!canary)
      throw new ServeError(
        'E_CANARY_DISABLED',
        'rejected',
        'The canary is off (no probe set); configure canary.probes or serve a model whose metadata names its data.',
      );
    return canary.run();
  });

  app.post('/v1/admin/rollback', { config: { role: 'admin' } }, async (req) => {
    const reason = stringField(req.body, 'reason', true) as string;
    const outcome = await app.rampart.rollback(reason, 'manual', { by: req.principal?.keyId ?? 'unknown' });
    if (!outcome.rolledBack && outcome.refused !== undefined)
      throw new ServeError('E_ROLLBACK_REFUSED', 'rejected', `The rollback was not made: ${outcome.refused}.`);
    if (!outcome.rolledBack)
      throw new ServeError('E_NO_PREVIOUS', 'rejected', `There is no previous model to roll back to from ${outcome.from}.`);
    return outcome;
  });

  app.post('/v1/admin/promote', { config: { role: 'admin' } }, async (req) => {
    const ref = stringField(req.body, 'ref', true) as string;
    const reason = stringField(req.body, 'reason', true) as string;
    return app.rampart.promote(ref, reason);
  });
}

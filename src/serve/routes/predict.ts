/**
 * `POST /v1/predict`: one guarded prediction for a batch of images or texts. A caller below
 * the operator role gets labels and rounded probabilities; operators also get the decision
 * trace and which layers flagged each example (see disclosure.ts).
 */
import type { FastifyInstance } from 'fastify';
import { ServeError } from '../../core/errors.js';
import type { GuardContext } from '../../defenses/layer.js';
import { addressGroup } from '../../defenses/rate-limit/index.js';
import { roundProbabilities, seesDetails } from '../disclosure.js';
import { guardedPredict } from '../guard.js';
import { recordAnswered, recordDenied } from '../plugins/monitor.js';

export function registerPredictRoutes(app: FastifyInstance): void {
  app.post('/v1/predict', { config: { role: 'predict', metered: true } }, async (req) => {
    const state = app.rampart;
    // A staged rollout's canary share is answered by the candidate (see plugins/rollout.ts).
    const lease = app.rollout.route(req) ?? state.holder.acquire();
    const generation = state.holder.generation;
    try {
      const model = lease.model;
      const clientId = req.principal ? `key:${req.principal.keyId}` : `ip:${addressGroup(req.ip)}`;
      const budgetMs = state.config.limits.workMs;
      const ctx: GuardContext = {
        clientId,
        address: req.ip,
        model: model.view,
        body: req.body,
        deadline: performance.now() + budgetMs,
        budgetMs,
      };
      let result;
      try {
        result = await guardedPredict(model, state.layers, ctx, req.trace, state.metrics);
      } catch (error) {
        // A malformed body is the client's bug; a denial by a defence is logged, and counts
        // towards the anomaly rate when the layer speaks about the model's inputs or answers.
        if (error instanceof ServeError && typeof error.details.layer === 'string') {
          recordDenied(state.monitor, ctx, error.details.layer);
          state.log.warn(
            { event: 'denied', client: ctx.clientId, code: error.code, layer: error.details.layer, model: model.view.id },
            error.message,
          );
        }
        throw error;
      }
      const { output, flaggedExamples, perExample } = result;
      const full = seesDetails(state.config, req.principal);
      // Built once per request, and only from what was flagged (most requests: nothing).
      const abstainedList = flaggedExamples.get('abstain');
      const abstained = abstainedList && abstainedList.length > 0 ? new Set(abstainedList) : undefined;
      let flagsOf: Map<number, string[]> | undefined;
      if (full) {
        for (const [layer, examples] of flaggedExamples) {
          if (layer === 'abstain') continue;
          for (const i of examples) {
            const flags = (flagsOf ??= new Map()).get(i);
            if (!flags) flagsOf.set(i, [layer]);
            else if (flags[flags.length - 1] !== layer) flags.push(layer);
          }
        }
      }
      const flaggedLayers: string[] = [];
      for (const t of req.trace) if (t.decision === 'flag') flaggedLayers.push(t.layer);
      const predictions = output.probabilities.map((p, i) => {
        const label = output.labels[i] as number;
        const probabilities = roundProbabilities(p);
        const abstainedHere = abstained?.has(i) ?? false;
        const out: Record<string, unknown> = {
          label: abstainedHere ? null : label,
          class: abstainedHere ? null : (model.classes[label] ?? String(label)),
          confidence: probabilities[label],
          probabilities,
          abstained: abstainedHere,
        };
        const flags = flagsOf?.get(i);
        if (flags) out.flags = flags;
        return out;
      });
      recordAnswered(state.monitor, ctx, output, flaggedExamples, perExample);
      if (flaggedLayers.length > 0)
        state.log.info({ event: 'flagged', client: ctx.clientId, layers: flaggedLayers, model: model.view.id }, 'request flagged');
      if (!full) return { model: { generation }, predictions, flagged: flaggedLayers.length > 0 };
      return { model: { id: model.view.id, generation }, predictions, flagged: flaggedLayers.length > 0, trace: req.trace };
    } finally {
      lease.release();
    }
  });
}

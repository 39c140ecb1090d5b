/**
 * Every change of the live model, as a plugin (`modelControl`): promotions, manual and
 * automatic rollbacks, and following the source's record when another server moved it.
 * One queue serialises them. Each goes the same way (see `apply`): the candidate is loaded,
 * prepared like the startup model, judged when the move is automatic, recorded (tag and
 * audit in one step), and only then swapped in. A failure anywhere disposes the candidate
 * and leaves the current model serving, so the live model and the record never disagree.
 *
 * Automatic rollback cannot be driven by clients: its signals are the server's own canary
 * probes and the client-weighted, per-example anomaly rate with a minimum of distinct
 * clients; before acting, the previous model is judged on the same probes or the same
 * recent traffic and must do clearly better; and a second automatic rollback within the
 * operator window is not made.
 */
import type { FastifyInstance } from 'fastify';
import type { Json } from '../../governance/types.js';
import { probeAccuracy } from '../canary.js';
import { anomalyRateOn } from '../compare.js';
import type { StagedMove } from '../model-source.js';
import type { Prepared } from '../preparation.js';
import { RollbackController, type RollbackOutcome } from '../rollback.js';
import type { ServedModel } from '../served-model.js';
import type { ModelControl } from '../state.js';
import { servePlugin } from './plugin.js';

/** Decides whether an automatic move may go ahead; returns why not, or undefined. */
type Judge = (candidate: ServedModel, prepared: Prepared) => Promise<string | undefined>;

export const rollbackPlugin = servePlugin(
  'rampart-rollback',
  { decorators: ['serveCore', 'defenceLayers', 'driftMonitor', 'canary'] },
  async (app: FastifyInstance) => {
    const core = app.serveCore;
    const { config, source, holder, metrics, log, prepare, alert } = core;
    const policy = config.rollback === false ? undefined : config.rollback;
    const controller = policy ? new RollbackController({ ...policy, operatorWindowMs: policy.operatorWindowMs ?? 3_600_000 }) : undefined;
    const minImprovement = (policy && policy.anomaly ? policy.anomaly.minImprovement : undefined) ?? 0.1;

    let queue: Promise<unknown> = Promise.resolve();
    const serialised = <T>(work: () => Promise<T>): Promise<T> => {
      const next = queue.then(work, work);
      queue = next.catch(() => undefined);
      return next;
    };

    /** Prepares, judges, records and swaps in a staged move; returns why it was refused, if it was. */
    const apply = async (move: StagedMove, judge?: Judge): Promise<string | undefined> => {
      try {
        const prepared = await prepare(move.model);
        const refusal = await judge?.(move.model, prepared);
        if (refusal !== undefined) {
          move.model.dispose();
          return refusal;
        }
        await move.commit();
      } catch (error) {
        move.model.dispose();
        throw error;
      }
      holder.swap(move.model);
      metrics.swaps.inc();
      core.wentLive(move.model);
      return undefined;
    };

    const judges: Record<string, Judge> = {
      canary: async (candidate, prepared) => {
        const probes = app.canary?.probes;
        if (!probes || prepared.canaryAccuracy === undefined) return 'the previous model could not be probed';
        const live = await probeAccuracy(holder.current, probes);
        if (prepared.canaryAccuracy > live) return undefined;
        return `the previous model ${candidate.view.id} scores ${prepared.canaryAccuracy.toFixed(3)} on the canary probes, no better than the live model's ${live.toFixed(3)}`;
      },
      anomaly: async (candidate) => {
        const sample = app.driftMonitor?.sampled() ?? [];
        if (sample.length === 0) return 'no recent traffic was kept to compare the models on';
        const live = await anomalyRateOn(holder.current, app.defenceLayers.judging(holder.current), sample);
        const previous = await anomalyRateOn(candidate, app.defenceLayers.judging(candidate), sample);
        if (previous.rate <= live.rate - minImprovement) return undefined;
        return `on the same ${live.examples} recent examples the previous model's anomaly rate is ${previous.rate.toFixed(3)}, not clearly below the live model's ${live.rate.toFixed(3)}`;
      },
    };

    const rollback = (reason: string, trigger: string, details: Record<string, Json> = {}): Promise<RollbackOutcome> =>
      serialised(async () => {
        const automatic = trigger !== 'manual';
        const from = holder.current.view.id;
        if (automatic && controller?.needsOperator()) {
          const refused = 'a second automatic rollback inside the operator window needs an operator (POST /v1/admin/rollback)';
          await alert('rollback-needs-operator', { trigger, reason, model: from });
          return { rolledBack: false, from, reason, refused };
        }
        const move = await source.rollback(reason, { trigger, fromModel: from, ...details });
        if (!move) {
          await alert('rollback-unavailable', { trigger, reason, model: from });
          return { rolledBack: false, from, reason };
        }
        const to = move.model.view.id;
        const refused = await apply(move, automatic ? judges[trigger] : undefined);
        if (refused !== undefined) {
          log.warn({ event: 'rollback-refused', trigger, from, to, refused }, `did not roll back: ${refused}`);
          await alert('rollback-refused', { trigger, reason, from, to, refused });
          return { rolledBack: false, from, reason, refused };
        }
        metrics.rollbacks.inc({ trigger });
        controller?.rolledBack(automatic);
        if (!automatic) controller?.operatorActed();
        log.warn({ event: 'rollback', from, to, reason, trigger }, `rolled back from ${from} to ${to}`);
        await alert('rollback', { trigger, reason, from, to });
        return { rolledBack: true, from, to, reason };
      });

    const promote = (ref: string, reason: string): Promise<{ from: string; to: string }> =>
      serialised(async () => {
        const from = holder.current.view.id;
        const move = await source.promote(ref, reason);
        const to = move.model.view.id;
        await apply(move);
        controller?.operatorActed();
        log.warn({ event: 'promote', from, to, reason }, `promoted ${to}`);
        void app.canary?.run().catch(() => undefined);
        return { from, to };
      });

    const tick = async (): Promise<RollbackOutcome | undefined> => {
      const monitor = app.driftMonitor;
      if (!controller || !monitor) return undefined;
      const trigger = controller.observeAnomalyRate(monitor.anomalyRate(), monitor.anomalySamples(), monitor.anomalyClients());
      if (!trigger) return undefined;
      await alert('anomaly-rate', { ...trigger, clients: monitor.anomalyClients() });
      return rollback(trigger.reason, 'anomaly', { value: trigger.value, threshold: trigger.threshold });
    };

    const canaryResult = async (accuracy: number, modelId: string): Promise<void> => {
      // A run that started before a swap speaks about the model that was live then.
      if (!controller || modelId !== holder.current.view.id) return;
      const trigger = controller.observeCanary(accuracy);
      if (!trigger) return;
      await alert('canary', { ...trigger, model: modelId });
      await rollback(trigger.reason, 'canary', { value: trigger.value, threshold: trigger.threshold });
    };

    // A replica follows the record; a candidate that fails preparation is not retried until the record moves again.
    let failedKey: string | undefined;
    const follow = (): Promise<boolean> =>
      serialised(async () => {
        const key = source.currentKey?.();
        const live = holder.current.ref;
        if (key === undefined || (live.source === 'registry' && live.digest === key) || key === failedKey) return false;
        const from = holder.current.view.id;
        const model = await source.loadCurrent();
        try {
          await prepare(model);
        } catch (error) {
          model.dispose();
          failedKey = key;
          log.error(
            { event: 'follow-refused', from, to: model.view.id, error: error instanceof Error ? error.message : String(error) },
            'the record moved to a model that cannot be prepared',
          );
          await alert('follow-refused', { from, to: model.view.id });
          return false;
        }
        failedKey = undefined;
        holder.swap(model);
        metrics.swaps.inc();
        core.wentLive(model);
        log.warn({ event: 'follow', from, to: model.view.id }, `the record moved: now serving ${model.view.id}`);
        return true;
      });

    const control: ModelControl = { controller, rollback, promote, tick, canaryResult, follow };
    app.decorate('modelControl', control);

    const timers: NodeJS.Timeout[] = [];
    const every = (ms: number, work: () => Promise<unknown>, what: string): void => {
      const t = setInterval(
        () => void work().catch((e: unknown) => log.error({ event: `${what}-failed`, error: String(e) }, `${what} failed`)),
        ms,
      );
      t.unref();
      timers.push(t);
    };
    if (core.options.timers !== false) {
      app.addHook('onReady', async () => {
        if (policy && policy.checkIntervalMs > 0) every(policy.checkIntervalMs, tick, 'rollback-watch');
        if (source.currentKey && config.watch.pollMs > 0) every(config.watch.pollMs, follow, 'tag-watch');
        app.canary?.start();
        void app.canary?.run().catch(() => undefined);
      });
    }
    app.addHook('onClose', async () => {
      for (const t of timers) clearInterval(t);
      await queue.catch(() => undefined);
    });
  },
);

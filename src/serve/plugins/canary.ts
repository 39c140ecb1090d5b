/**
 * Canary probes as a plugin (`canary`): a fixed adversarial probe set the server runs
 * against the live model on a timer. The probes are the server's own, so no client can
 * move this signal; a breach goes to the rollback plugin, which compares the previous
 * model on the same probes before acting.
 */
import type { FastifyInstance } from 'fastify';
import { Canary, generateProbeSet, probeAccuracy, readProbeFile, type ProbeSet } from '../canary.js';
import { modelData } from '../prepare.js';
import type { CanaryMiss } from '../state.js';
import { servePlugin } from './plugin.js';

export const canaryPlugin = servePlugin('rampart-canary', { decorators: ['serveCore'] }, async (app: FastifyInstance) => {
  const { config, options, holder, source, metrics, log } = app.serveCore;
  if (config.canary === false) {
    app.decorate('canary', undefined);
    return;
  }
  const c = config.canary;
  const live = holder.current;
  let probes = options.probes;
  if (!probes && c.probes) probes = await readProbeFile(c.probes);
  if (!probes && live.classifier) {
    const classifier = live.classifier;
    const make = async (): Promise<ProbeSet | undefined> => {
      const held = options.probeData ?? modelData(live, 'test', c.count);
      if (!held) return undefined;
      return generateProbeSet(classifier, held, {
        attack: c.attack,
        attackOptions: c.attackOptions,
        norm: c.norm,
        epsilon: c.epsilon,
        seed: c.seed,
      });
    };
    // A registry keeps the probe set beside the model, so restarts and replicas probe alike.
    probes = source.probeSet ? await source.probeSet(live, make) : await make();
  }
  if (!probes) {
    log.warn({ event: 'canary-unavailable' }, 'no probe set (none stored and no held-out data in the model metadata); canary disabled');
    app.decorate('canary', undefined);
    return;
  }
  const canary = new Canary(probes, {
    intervalMs: c.intervalMs,
    evaluate: async (p) => {
      const lease = holder.acquire();
      try {
        const misses: CanaryMiss['misses'] = [];
        const accuracy = await probeAccuracy(lease.model, p, 64, (index, predicted) => misses.push({ index, predicted }));
        // Broken probes go to whoever listens (the capture plugin stores them for review).
        if (misses.length > 0) app.serveCore.canaryMissed({ modelId: lease.model.view.id, probes: p, misses });
        return { accuracy, modelId: lease.model.view.id };
      } finally {
        lease.release();
      }
    },
    onResult: async (r) => {
      metrics.canaryAccuracy.set(r.accuracy);
      const low = app.serveCore.alertRules.canary(r.accuracy, r.modelId);
      if (low) await app.serveCore.alert(low.kind, low.details);
      metrics.canaryRuns.inc({ outcome: 'ok' });
      log.info({ event: 'canary', ...r }, `canary robust accuracy ${r.accuracy.toFixed(3)} on ${r.probes} probes`);
      await app.modelControl.canaryResult(r.accuracy, r.modelId);
    },
    onError: (e) => {
      metrics.canaryRuns.inc({ outcome: 'error' });
      log.error({ event: 'canary-failed', error: e instanceof Error ? e.message : String(e) }, 'canary run failed');
    },
  });
  log.info({ event: 'canary-ready', source: probes.source, probes: probes.labels.length }, 'canary probe set ready');
  app.decorate('canary', canary);
  app.addHook('onClose', async () => canary.stop());
});

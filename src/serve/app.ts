/**
 * `buildServer`: the guarded model server as a Fastify instance, testable in-process with
 * `app.inject`. It loads and prepares the live model, then registers one plugin per concern
 * (in `plugins/`): the HTTP edge, authentication and rate limits, the defence layers, the
 * drift monitor, the canary, the rollback controller, and the routes. Nothing here listens
 * on a port; the CLI does.
 */
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { engineInfo, initEngine } from '../engine/backend.js';
import { parseServeConfig } from './config.js';
import { createMetrics } from './metrics.js';
import { ModelHolder } from './model-holder.js';
import { authPlugin } from './plugins/auth.js';
import { canaryPlugin } from './plugins/canary.js';
import { capturePlugin } from './plugins/capture.js';
import { reviewPlugin } from './plugins/review.js';
import { rolloutPlugin } from './plugins/rollout.js';
import { alertRules } from './plugins/rollout-alerts.js';
import { httpPlugin } from './plugins/http.js';
import { layersPlugin } from './plugins/layers.js';
import { monitorPlugin } from './plugins/monitor.js';
import { rollbackPlugin } from './plugins/rollback.js';
import { routesPlugin } from './plugins/routes.js';
import { explainPlugin } from './plugins/explain.js';
import { snapshotsPlugin } from './plugins/snapshots.js';
import { modelPreparer } from './preparation.js';
import { createAlerter, type Logger } from './rollback.js';
import type { ServedModel } from './served-model.js';
import type { BuildServerOptions, CanaryMiss, ServeCore, ServerState } from './state.js';

export { errorResponse } from './plugins/http.js';
export type { BuildServerOptions, CaptureTimingSink, RequestState, ServerState } from './state.js';

/**
 * Builds the server: loads and prepares the live model from the source, then registers the
 * serve plugins.
 *
 * @throws ConfigError `E_SERVE_CONFIG`; DataError from loading the model; UsageError for bad layer settings.
 * @example
 * const app = await buildServer({ source: directorySource({ dir: 'runs/example/model' }) });
 * const res = await app.inject({ method: 'POST', url: '/v1/predict', payload: { inputs: [pixels] } });
 */
export async function buildServer(options: BuildServerOptions): Promise<FastifyInstance> {
  const config = parseServeConfig(options.config ?? {});
  if (!engineInfo()) await initEngine();
  const loggerOptions =
    options.logger === undefined
      ? { logger: false }
      : typeof options.logger === 'object' && options.logger !== null && 'child' in options.logger
        ? { loggerInstance: options.logger }
        : { logger: options.logger };
  const t = config.timeouts;
  const app = Fastify({
    ...(loggerOptions as FastifyServerOptions),
    bodyLimit: config.limits.bodyBytes,
    // Per-request lines would dominate the log; the server logs decisions, drift and rollbacks instead.
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // Behind a proxy, the client address comes from X-Forwarded-For only from the proxies named here.
    trustProxy: config.trustProxy,
    // A client trickling its headers or body is cut off; an idle socket is closed.
    requestTimeout: t.requestMs,
    connectionTimeout: t.idleMs,
    keepAliveTimeout: t.keepAliveMs,
    // Node checks request and header deadlines on this interval (30 s by default, longer than short deadlines).
    http: {
      headersTimeout: Math.min(t.headersMs, t.requestMs),
      connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(t.requestMs / 4))),
    },
  } as FastifyServerOptions);
  const log: Logger = app.log;
  const metrics = createMetrics();
  const listeners: Array<(model: ServedModel) => void> = [];
  const missListeners: Array<(miss: CanaryMiss) => void> = [];
  let canaryProbes: ServerState['canary'] = undefined;
  const prepare = modelPreparer({
    config,
    ...(options.oodData ? { oodData: options.oodData } : {}),
    ...(options.probeData ? { heldOut: options.probeData } : {}),
    log,
    probes: () => canaryProbes?.probes,
  });
  const live = await options.source.loadCurrent();
  try {
    await prepare(live);
  } catch (error) {
    live.dispose();
    throw error;
  }
  const holder = new ModelHolder(live);
  const core: ServeCore = {
    options,
    config,
    source: options.source,
    holder,
    metrics,
    log,
    prepare,
    alert: createAlerter({
      ...(config.alerts.webhook ? { webhook: config.alerts.webhook } : {}),
      log,
      onAlert: (kind) => metrics.alerts.inc({ kind }),
    }),
    alertRules: alertRules(config.alerts.rules),
    onLive(listener) {
      listeners.push(listener);
      listener(holder.current);
    },
    wentLive(model) {
      for (const l of listeners) l(model);
    },
    onCanaryMiss: (listener) => void missListeners.push(listener),
    canaryMissed(miss) {
      for (const l of missListeners) l(miss);
    },
  };
  core.onLive((model) => {
    metrics.modelInfo.reset();
    metrics.modelInfo.set({ model: model.view.id, source: options.source.kind }, 1);
  });
  app.decorate('serveCore', core);
  await app.register(httpPlugin);
  await app.register(authPlugin);
  await app.register(layersPlugin);
  await app.register(monitorPlugin);
  await app.register(canaryPlugin);
  canaryProbes = app.canary;
  await app.register(rollbackPlugin);
  await app.register(capturePlugin);
  await app.register(reviewPlugin);
  const control = app.modelControl;
  const state: ServerState = {
    config,
    source: options.source,
    holder,
    keys: options.keys,
    metrics,
    monitor: app.driftMonitor,
    canary: app.canary,
    controller: control.controller,
    layers: app.defenceLayers.layers,
    ensembleIds: app.defenceLayers.ensembleIds,
    log,
    request: (req) => ({ ...(req.principal ? { principal: req.principal } : {}), trace: req.trace }),
    alert: core.alert,
    rollback: control.rollback,
    promote: control.promote,
    tick: control.tick,
    follow: control.follow,
  };
  app.decorate('rampart', state);
  await app.register(rolloutPlugin);
  await app.register(routesPlugin);
  await app.register(explainPlugin);
  await app.register(snapshotsPlugin);
  // Registered last, so it runs after the plugins' own close hooks: requests are drained, timers stopped.
  app.addHook('onClose', async () => {
    holder.dispose();
    options.source.close();
  });
  return app;
}

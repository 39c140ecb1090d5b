/**
 * `buildServer`: the guarded model server as a Fastify instance, testable in-process with
 * `app.inject`. It wires the model source, the defence layers, authentication, metrics,
 * the drift monitor, canary probes and the rollback controller; the routes live in
 * `routes/`. Nothing here listens on a port; the CLI does.
 */
import Fastify, { LogController, type FastifyInstance, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import type { Logger as PinoLogger } from 'pino';
import { RampartError, ServeError, httpStatusFor } from '../core/errors.js';
import type { Dataset } from '../core/types.js';
import { engineInfo, initEngine } from '../engine/backend.js';
import { abstainLayer } from '../defenses/abstain/index.js';
import { ensembleLayer, type EnsembleMember } from '../defenses/ensemble/index.js';
import type { DefenseLayer, TraceEntry } from '../defenses/layer.js';
import { oodLayer } from '../defenses/ood/index.js';
import { queryPatternLayer } from '../defenses/query-pattern/index.js';
import { registerRateLimits, type RateLimitCheck } from '../defenses/rate-limit/index.js';
import { validateLayer } from '../defenses/validate/index.js';
import { normalizeTextWithReport, type NormalizeStage } from '../defenses/normalize-text/index.js';
import { normalizeTextLayer } from './text-normalize-layer.js';
import type { Json } from '../governance/types.js';
import { AuthFailures, authenticateFrom, authorize, presentedKey, type KeyStore, type Principal, type Role } from './auth.js';
import { parseJsonBody } from './body.js';
import { Canary, generateProbeSet, probeAccuracy, readProbeFile, type ProbeSet } from './canary.js';
import { parseServeConfig, type ServeConfig, type ServeConfigInput } from './config.js';
import { createMetrics, type ServeMetrics } from './metrics.js';
import { ModelHolder } from './model-holder.js';
import type { ModelSource } from './model-source.js';
import { DriftMonitor } from './monitor.js';
import { fitOodForModel, loadEnsembleMembers, modelData, withHeldOutReference } from './prepare.js';
import { RollbackController, createAlerter, performRollback, type Logger, type RollbackOutcome } from './rollback.js';
import type { ServedModel } from './served-model.js';
import { registerAdminRoutes } from './routes/admin.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerModelRoutes } from './routes/models.js';
import { registerPredictRoutes } from './routes/predict.js';

export interface BuildServerOptions {
  source: ModelSource;
  config?: ServeConfigInput;
  /** API keys; without them `predict` routes are open and operator/admin routes refuse everyone. */
  keys?: KeyStore;
  /** Fastify's logger option, or a pino instance (structured logs). Default: off. */
  logger?: FastifyServerOptions['logger'] | PinoLogger;
  /** Data to fit the OOD detector on when the model ships none (default: its training split). */
  oodData?: Dataset;
  /** A ready probe set (default: `config.canary.probes`, else generated from the model's test split). */
  probes?: ProbeSet;
  /** Held-out examples to generate probes from (default: the model's test split). */
  probeData?: Dataset;
  /** Ensemble members built by the caller (default: loaded from `config.layers.ensemble.models`). */
  ensemble?: EnsembleMember[];
  /** Extra layers (e.g. text normalisation from another module), run after validation. */
  extraInputLayers?: DefenseLayer[];
  /** Start the canary and watch timers (default true; tests drive them by hand). */
  timers?: boolean;
}

/** Per-request facts the hooks and routes share. */
export interface RequestState {
  principal?: Principal;
  trace: TraceEntry[];
}

/** What the routes (and tests) reach through `app.rampart`. */
export interface ServerState {
  readonly config: ServeConfig;
  readonly source: ModelSource;
  readonly holder: ModelHolder;
  readonly keys: KeyStore | undefined;
  readonly metrics: ServeMetrics;
  readonly monitor: DriftMonitor | undefined;
  readonly canary: Canary | undefined;
  readonly controller: RollbackController | undefined;
  readonly layers: readonly DefenseLayer[];
  readonly ensembleIds: readonly string[];
  readonly log: Logger;
  request(req: FastifyRequest): RequestState;
  alert(kind: string, details: Record<string, unknown>): Promise<void>;
  /** Rolls back now (manual or automatic); serialised with promotions. */
  rollback(reason: string, trigger: string, details?: Record<string, Json>): Promise<RollbackOutcome>;
  /** Promotes a registry reference or directory and swaps it in; serialised with rollbacks. */
  promote(ref: string, reason: string): Promise<{ from: string; to: string }>;
  /** Feeds the anomaly rate to the rollback controller (the watch timer calls it). */
  tick(): Promise<RollbackOutcome | undefined>;
}

declare module 'fastify' {
  interface FastifyInstance {
    rampart: ServerState;
  }
  interface FastifyContextConfig {
    /** Least role that may call the route; absent means public. */
    role?: Role;
    /** Counts against the rate limits. */
    metered?: boolean;
  }
}

const FASTIFY_CODES: Record<string, { code: string; status: number; message: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'E_BODY_TOO_LARGE', status: 413, message: 'The request body is larger than the server accepts (limits.bodyBytes); send fewer examples per request.' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: 'E_MEDIA_TYPE', status: 415, message: "Unsupported content type; send the body as 'application/json'." },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'E_BODY_JSON', status: 400, message: 'The request body is empty; send a JSON object.' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: 'E_BODY_LENGTH', status: 400, message: 'The Content-Length header does not match the body.' },
  FST_ERR_CTP_EMPTY_TYPE: { code: 'E_MEDIA_TYPE', status: 415, message: "Empty content type; send the body as 'application/json'." },
  FST_ERR_CTP_INVALID_TYPE: { code: 'E_MEDIA_TYPE', status: 415, message: "Invalid content type; send the body as 'application/json'." },
};

/** Maps any error to a status, a stable code and a message for the client. */
export function errorResponse(error: unknown): { status: number; code: string; message: string; details?: Record<string, unknown> } {
  if (error instanceof RampartError) {
    const status = httpStatusFor(error);
    return { status, code: error.code, message: error.message, ...(Object.keys(error.details).length > 0 && status < 500 ? { details: error.details } : {}) };
  }
  const e = error as { code?: unknown; statusCode?: unknown; message?: unknown };
  const known = typeof e.code === 'string' ? FASTIFY_CODES[e.code] : undefined;
  if (known) return { status: known.status, code: known.code, message: known.message };
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) return { status: e.statusCode, code: 'E_BAD_REQUEST', message: String(e.message) };
  return { status: 500, code: 'E_INTERNAL', message: 'The server failed on this request; the error is in its log.' };
}

/**
 * Builds the server: loads the live model from the source, prepares the layers and the
 * canary, and registers the routes.
 *
 * @throws ConfigError `E_SERVE_CONFIG`; DataError from loading the model; UsageError for bad layer settings.
 * @example
 * const app = await buildServer({ source: directorySource({ dir: 'runs/example/model' }) });
 * const res = await app.inject({ method: 'POST', url: '/v1/predict', payload: { inputs: [pixels] } });
 */
export async function buildServer(options: BuildServerOptions): Promise<FastifyInstance> {
  const config = parseServeConfig(options.config ?? {});
  if (!engineInfo()) await initEngine();
  const loggerOptions = options.logger === undefined ? { logger: false } : typeof options.logger === 'object' && options.logger !== null && 'child' in options.logger ? { loggerInstance: options.logger } : { logger: options.logger };
  const app = Fastify({
    ...(loggerOptions as FastifyServerOptions),
    bodyLimit: config.limits.bodyBytes,
    // Per-request lines would dominate the log; the server logs decisions, drift and rollbacks instead.
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    ...({ trustProxy: config.trustProxy } as FastifyServerOptions),
  });
  const log: Logger = app.log;
  const metrics = createMetrics();
  const states = new WeakMap<FastifyRequest, RequestState>();
  const requestState = (req: FastifyRequest): RequestState => {
    let s = states.get(req);
    if (!s) {
      s = { trace: [] };
      states.set(req, s);
    }
    return s;
  };

  // The model and what the server derives from it.
  const monitor = config.monitor === false ? undefined : new DriftMonitor(config.monitor, {
    onPsi: (signal, value) => metrics.drift.set({ signal }, value),
    onDrift: (signal, value) => log.warn({ event: 'drift', signal, psi: value }, `drift on ${signal}: PSI ${value.toFixed(3)}`),
    onAnomalyRate: (rate) => metrics.anomalyRate.set(rate),
  });
  const prepare = async (model: ServedModel): Promise<ServedModel> => {
    if (config.layers.ood !== false && !model.ood && model.view.kind === 'image') {
      const data = options.oodData ?? modelData(model, 'train', config.layers.ood.fitLimit);
      if (data) {
        let detector = await fitOodForModel(model, data);
        const heldOut = options.probeData ?? modelData(model, 'validation', 500);
        if (heldOut) detector = await withHeldOutReference(model, detector, heldOut);
        model.ood = detector;
        log.info({ event: 'ood-fitted', model: model.view.id, examples: data.count, threshold: detector.threshold }, 'fitted the OOD detector at startup');
      } else log.warn({ event: 'ood-unavailable', model: model.view.id }, 'no ood.json and no training data in the model metadata; the OOD layer will pass everything');
    }
    return model;
  };
  const live = await prepare(await options.source.loadCurrent());
  const holder = new ModelHolder(live);
  const onLive = (model: ServedModel): void => {
    metrics.modelInfo.reset();
    metrics.modelInfo.set({ model: model.view.id, source: options.source.kind }, 1);
    if (monitor) {
      monitor.resetForNewModel();
      if (model.ood?.json.referenceScores) monitor.setReference('ood', model.ood.json.referenceScores.map((s) => s / (model.ood?.threshold ?? 1)));
    }
  };
  onLive(live);

  // Layers, in the order they run.
  const layers: DefenseLayer[] = [validateLayer(config.layers.validate), ...(options.extraInputLayers ?? [])];
  if (live.view.kind === 'text' && config.layers.normalizeText !== false) {
    const { stages, flag } = config.layers.normalizeText;
    const normalizeOptions = { ...(stages ? { stages: stages as NormalizeStage[] } : {}), ...(flag === undefined ? {} : { flag }) };
    // Fails here, at startup, on an unknown stage name rather than on the first request.
    normalizeTextWithReport('', normalizeOptions);
    // A model trained behind its own normaliser applies it itself; the layer then only reports (see the layer).
    layers.push(normalizeTextLayer(normalizeOptions, () => holder.current.textNormalization));
  }
  if (config.layers.queryPattern !== false) layers.push(queryPatternLayer(config.layers.queryPattern));
  if (config.layers.ood !== false) layers.push(oodLayer(() => holder.current.ood, config.layers.ood));
  let disposeMembers: (() => void) | undefined;
  let ensembleIds: string[] = [];
  if (config.layers.ensemble !== false) {
    let members = options.ensemble;
    if (!members) {
      const loaded = await loadEnsembleMembers(config.layers.ensemble.models, live.view.inputShape);
      members = loaded.members;
      disposeMembers = loaded.dispose;
    }
    ensembleIds = members.map((m) => m.id);
    layers.push(ensembleLayer(members, config.layers.ensemble));
  }
  if (config.layers.abstain !== false) layers.push(abstainLayer(config.layers.abstain));

  let rateLimit: RateLimitCheck | undefined;
  if (config.layers.rateLimit !== false) rateLimit = await registerRateLimits(app, config.layers.rateLimit);

  const alert = createAlerter({ ...(config.alerts.webhook ? { webhook: config.alerts.webhook } : {}), log, onAlert: (kind) => metrics.alerts.inc({ kind }) });
  const controller = config.rollback === false ? undefined : new RollbackController(config.rollback);
  let queue: Promise<unknown> = Promise.resolve();
  const serialised = <T>(work: () => Promise<T>): Promise<T> => {
    const next = queue.then(work, work);
    queue = next.catch(() => undefined);
    return next;
  };
  const swapIn = (next: ServedModel): void => {
    metrics.swaps.inc();
    onLive(next);
  };
  const rollback = (reason: string, trigger: string, details: Record<string, Json> = {}): Promise<RollbackOutcome> =>
    serialised(async () => {
      const outcome = await performRollback({
        source: options.source,
        holder,
        reason,
        trigger,
        details,
        alert,
        onSwap: (next) => swapIn(next),
      });
      if (outcome.rolledBack) {
        metrics.rollbacks.inc({ trigger });
        controller?.rolledBack();
        log.warn({ event: 'rollback', ...outcome, trigger }, `rolled back from ${outcome.from} to ${outcome.to}`);
      }
      return outcome;
    });

  // Canary probes.
  let canary: Canary | undefined;
  if (config.canary !== false) {
    let probes = options.probes;
    if (!probes && config.canary.probes) probes = await readProbeFile(config.canary.probes);
    if (!probes && live.classifier) {
      const classifier = live.classifier;
      const c = config.canary;
      const make = async (): Promise<ProbeSet | undefined> => {
        const held = options.probeData ?? modelData(live, 'test', c.count);
        if (!held) return undefined;
        return generateProbeSet(classifier, held, { attack: c.attack, attackOptions: c.attackOptions, norm: c.norm, epsilon: c.epsilon, seed: c.seed });
      };
      // A registry keeps the probe set beside the model, so restarts and replicas probe alike.
      probes = options.source.probeSet ? await options.source.probeSet(live, make) : await make();
    }
    if (probes) {
      const probeSet = probes;
      canary = new Canary(probeSet, {
        intervalMs: config.canary.intervalMs,
        evaluate: async (p) => {
          const lease = holder.acquire();
          try {
            return { accuracy: await probeAccuracy(lease.model, p), modelId: lease.model.view.id };
          } finally {
            lease.release();
          }
        },
        onResult: async (r) => {
          metrics.canaryAccuracy.set(r.accuracy);
          metrics.canaryRuns.inc({ outcome: 'ok' });
          log.info({ event: 'canary', ...r }, `canary robust accuracy ${r.accuracy.toFixed(3)} on ${r.probes} probes`);
          const trigger = controller?.observeCanary(r.accuracy);
          if (trigger) {
            await alert('canary', { ...trigger, model: r.modelId });
            await rollback(trigger.reason, 'canary', { value: trigger.value, threshold: trigger.threshold });
          }
        },
        onError: (e) => {
          metrics.canaryRuns.inc({ outcome: 'error' });
          log.error({ event: 'canary-failed', error: e instanceof Error ? e.message : String(e) }, 'canary run failed');
        },
      });
      log.info({ event: 'canary-ready', source: probeSet.source, probes: probeSet.labels.length }, 'canary probe set ready');
    } else log.warn({ event: 'canary-unavailable' }, 'no probe set (none stored and no held-out data in the model metadata); canary disabled');
  }

  const tick = async (): Promise<RollbackOutcome | undefined> => {
    if (!controller || !monitor) return undefined;
    const trigger = controller.observeAnomalyRate(monitor.anomalyRate(), monitor.anomalySamples());
    if (!trigger) return undefined;
    await alert('anomaly-rate', { ...trigger });
    return rollback(trigger.reason, 'anomaly', { value: trigger.value, threshold: trigger.threshold });
  };

  const state: ServerState = {
    config,
    source: options.source,
    holder,
    keys: options.keys,
    metrics,
    monitor,
    canary,
    controller,
    layers,
    ensembleIds,
    log,
    request: requestState,
    alert,
    rollback,
    promote: (ref, reason) =>
      serialised(async () => {
        const from = holder.current.view.id;
        const next = await prepare(await options.source.promote(ref, reason));
        holder.swap(next);
        swapIn(next);
        log.warn({ event: 'promote', from, to: next.view.id, reason }, `promoted ${next.view.id}`);
        void canary?.run().catch(() => undefined);
        return { from, to: next.view.id };
      }),
    tick,
  };
  app.decorate('rampart', state);

  // Body parsing: strict UTF-8, bounded nesting, coded errors.
  app.removeContentTypeParser(['application/json']);
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => {
    try {
      done(null, parseJsonBody(body as Buffer, config.limits.maxDepth));
    } catch (error) {
      done(error as Error, undefined);
    }
  });

  // Authentication, authorisation and rate limits, before the body is read.
  const failures = config.auth.failures === false ? undefined : new AuthFailures(config.auth.failures);
  app.addHook('onRequest', async (req) => {
    const routeConfig = req.routeOptions.config;
    const role = routeConfig.role;
    if (role === undefined) return;
    const s = requestState(req);
    const start = performance.now();
    if (options.keys) {
      s.principal = await authenticateFrom(options.keys, presentedKey(req.headers), req.ip, failures);
      authorize(s.principal, role);
    } else if (role !== 'predict') {
      throw new ServeError('E_FORBIDDEN', 'forbidden', `This route needs the '${role}' role, and the server runs without API keys; restart it with --keys FILE.`);
    }
    if (options.keys) s.trace.push({ layer: 'auth', decision: 'pass', score: null, ms: Math.round((performance.now() - start) * 1000) / 1000 });
    if (rateLimit && routeConfig.metered) {
      const t = performance.now();
      const verdict = await rateLimit(req, s.principal?.keyId);
      s.trace.push({ layer: 'rate-limit', decision: verdict.decision, score: verdict.score ?? null, ms: Math.round((performance.now() - t) * 1000) / 1000, ...(verdict.reason ? { reason: verdict.reason } : {}) });
      metrics.decisions.inc({ layer: 'rate-limit', decision: verdict.decision });
      if (verdict.decision === 'deny') {
        throw new ServeError('E_RATE_LIMITED', 'rate-limit', `Too many requests: ${verdict.reason ?? ''}.`, { details: { retryAfterSeconds: verdict.retryAfterSeconds ?? 1 } });
      }
    }
  });

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    metrics.requests.inc({ route, method: req.method, status: String(reply.statusCode) });
    metrics.latency.observe({ route }, reply.elapsedTime / 1000);
  });

  app.setErrorHandler((error, req, reply) => {
    const r = errorResponse(error);
    if (r.status >= 500) req.log.error({ err: error }, 'request failed');
    const retry = r.details?.retryAfterSeconds;
    if (r.status === 429 && typeof retry === 'number') reply.header('retry-after', String(Math.max(1, Math.ceil(retry))));
    const trace = states.get(req)?.trace;
    return reply.status(r.status).send({ error: { code: r.code, message: r.message, ...(r.details ? { details: r.details } : {}) }, ...(trace && trace.length > 0 ? { trace } : {}) });
  });
  app.setNotFoundHandler((req, reply) => {
    return reply.status(404).send({ error: { code: 'E_NOT_FOUND', message: `No route ${req.method} ${req.url.slice(0, 200)}; see GET /v1/models, POST /v1/predict, /healthz, /readyz, /metrics.` } });
  });

  registerHealthRoutes(app);
  registerModelRoutes(app);
  registerPredictRoutes(app);
  registerAdminRoutes(app);

  let watch: NodeJS.Timeout | undefined;
  if (options.timers !== false) {
    canary?.start();
    if (canary) void canary.run().catch(() => undefined);
    if (config.rollback !== false && config.rollback.checkIntervalMs > 0) {
      watch = setInterval(() => void tick().catch((e: unknown) => log.error({ event: 'watch-failed', error: String(e) }, 'rollback watch failed')), config.rollback.checkIntervalMs);
      watch.unref();
    }
  }
  app.addHook('onClose', async () => {
    canary?.stop();
    if (watch) clearInterval(watch);
    await queue.catch(() => undefined);
    holder.dispose();
    disposeMembers?.();
    options.source.close();
  });
  return app;
}

/**
 * Authentication, authorisation and rate limits, before the body is read. Decorates every
 * request with `principal` (who is asking) and `trace` (the decision trace routes append to).
 */
import type { FastifyInstance } from 'fastify';
import { ServeError } from '../../core/errors.js';
import { registerRateLimits, type RateLimitCheck } from '../../defenses/rate-limit/index.js';
import { AuthFailures, authenticateFrom, authorize, presentedKey } from '../auth.js';
import { servePlugin } from './plugin.js';

const ms = (start: number): number => Math.round((performance.now() - start) * 1000) / 1000;

export const authPlugin = servePlugin(
  'rampart-auth',
  { decorators: ['serveCore'], dependencies: ['rampart-http'] },
  async (app: FastifyInstance) => {
    const { config, metrics, options } = app.serveCore;
    const keys = options.keys;
    app.decorateRequest('principal', undefined);
    // A reference type cannot be a decoration's default (it would be shared); each request gets its own array.
    app.decorateRequest('trace', null as unknown as []);
    app.addHook('onRequest', async (req) => {
      req.trace = [];
    });

    // Failed keys count against the address, so guessing keys is throttled.
    const failures = config.auth.failures === false ? undefined : new AuthFailures(config.auth.failures);
    let rateLimit: RateLimitCheck | undefined;
    if (config.layers.rateLimit !== false) rateLimit = await registerRateLimits(app, config.layers.rateLimit);

    app.addHook('onRequest', async (req) => {
      const routeConfig = req.routeOptions.config;
      const role = routeConfig.role;
      if (role === undefined) return;
      const start = performance.now();
      if (keys) {
        req.principal = await authenticateFrom(keys, presentedKey(req.headers), req.ip, failures);
        authorize(req.principal, role);
        req.trace.push({ layer: 'auth', decision: 'pass', score: null, ms: ms(start) });
      } else if (role !== 'predict') {
        throw new ServeError(
          'E_FORBIDDEN',
          'forbidden',
          `This route needs the '${role}' role, and the server runs without API keys; restart it with --keys FILE.`,
        );
      }
      if (rateLimit && routeConfig.metered) {
        const t = performance.now();
        const verdict = await rateLimit(req, req.principal?.keyId);
        req.trace.push({
          layer: 'rate-limit',
          decision: verdict.decision,
          score: verdict.score ?? null,
          ms: ms(t),
          ...(verdict.reason ? { reason: verdict.reason } : {}),
        });
        metrics.decisions.inc('rate-limit', verdict.decision);
        if (verdict.decision === 'deny') {
          throw new ServeError('E_RATE_LIMITED', 'rate-limit', `Too many requests: ${verdict.reason ?? ''}.`, {
            details: { retryAfterSeconds: verdict.retryAfterSeconds ?? 1 },
          });
        }
      }
    });
  },
);

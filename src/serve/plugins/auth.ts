/**
 * Authentication, authorisation and rate limits, before the body is read. Decorates every
 * request with `principal` (who is asking) and `trace` (the decision trace routes append to).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ServeError } from '../../core/errors.js';
import type { TraceEntry } from '../../defenses/layer.js';
import { createRateLimits, type RateLimitCheck } from '../../defenses/rate-limit/index.js';
import { AuthFailures, authenticateFast, authenticateSlow, authorize, presentedKey, type Role } from '../auth.js';
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

    // Failed keys count against the address, so guessing keys is throttled.
    const failures = config.auth.failures === false ? undefined : new AuthFailures(config.auth.failures);
    const rateLimit: RateLimitCheck | undefined = config.layers.rateLimit === false ? undefined : createRateLimits(config.layers.rateLimit);

    /** Authorisation, then the rate limits (metered routes), once the principal is known. */
    const admit = (req: FastifyRequest, role: Role, metered: boolean, start: number): void => {
      if (req.principal) {
        authorize(req.principal, role);
        req.trace.push({ layer: 'auth', decision: 'pass', score: null, ms: ms(start) });
      }
      if (!rateLimit || !metered) return;
      const t = performance.now();
      const verdict = rateLimit(req, req.principal?.keyId);
      const entry: TraceEntry = { layer: 'rate-limit', decision: verdict.decision, score: verdict.score ?? null, ms: ms(t) };
      if (verdict.reason) entry.reason = verdict.reason;
      req.trace.push(entry);
      metrics.decisions.inc('rate-limit', verdict.decision);
      if (verdict.decision === 'deny') {
        throw new ServeError('E_RATE_LIMITED', 'rate-limit', `Too many requests: ${verdict.reason ?? ''}.`, {
          details: { retryAfterSeconds: verdict.retryAfterSeconds ?? 1 },
        });
      }
    };

    // A callback hook, not an async one: a valid sha256 key is checked synchronously, and only
    // a key that needs the slow path (scrypt, or a failure's equal-cost work) waits on a promise.
    app.addHook('onRequest', (req: FastifyRequest, _reply: FastifyReply, done: (error?: Error) => void) => {
      req.trace = [];
      // Read once: Fastify builds a fresh routeOptions object on every access.
      const route = req.routeOptions.config;
      const role = route.role;
      const metered = route.metered === true;
      if (role === undefined) return done();
      const start = performance.now();
      try {
        if (!keys) {
          if (role !== 'predict') {
            throw new ServeError(
              'E_FORBIDDEN',
              'forbidden',
              `This route needs the '${role}' role, and the server runs without API keys; restart it with --keys FILE.`,
            );
          }
        } else {
          const key = presentedKey(req.headers);
          const principal = authenticateFast(keys, key, req.ip, failures);
          if (!principal) {
            authenticateSlow(keys, key, req.ip, failures).then((p) => {
              req.principal = p;
              try {
                admit(req, role, metered, start);
              } catch (error) {
                return done(error as Error);
              }
              done();
            }, done);
            return;
          }
          req.principal = principal;
        }
        admit(req, role, metered, start);
      } catch (error) {
        return done(error as Error);
      }
      done();
    });
  },
);

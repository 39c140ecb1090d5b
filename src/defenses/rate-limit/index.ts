/**
 * Rate limits per API key and per client address, on @fastify/rate-limit's store. Two
 * independent budgets, because one key can be shared by many addresses (a leaked key) and
 * one address can cycle through many keys (a key farm); an attacker has to stay under
 * both. Runs before the body is parsed, so a flood costs the server a header check, not
 * a JSON parse and a forward pass. Addresses are budgeted by `addressGroup` (an IPv6
 * client by its /64), and `req.ip` is what Fastify's `trustProxy` makes it.
 */
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { LayerVerdict } from '../layer.js';
import { addressGroup } from './address.js';

export { addressGroup } from './address.js';

export interface RateBudget {
  /** Requests allowed per window. */
  max: number;
  /** Window length in milliseconds. */
  timeWindowMs: number;
}

export interface RateLimitOptions {
  /** Budget per API key (authenticated requests only). */
  perKey?: RateBudget;
  /** Budget per client address. */
  perAddress?: RateBudget;
}

export interface RateLimitCheck {
  (request: FastifyRequest, keyId: string | undefined): Promise<LayerVerdict & { retryAfterSeconds?: number }>;
}

/**
 * Registers the plugin (not globally: the server decides which routes are metered) and
 * returns the check that the server runs on metered routes.
 *
 * @example const check = await registerRateLimits(app, { perKey: { max: 100, timeWindowMs: 60_000 } });
 */
export async function registerRateLimits(app: FastifyInstance, options: RateLimitOptions): Promise<RateLimitCheck> {
  await app.register(rateLimit, { global: false });
  const keyIds = new WeakMap<FastifyRequest, string>();
  const perKey = options.perKey
    ? app.createRateLimit({
        max: options.perKey.max,
        timeWindow: options.perKey.timeWindowMs,
        keyGenerator: (req) => `key:${keyIds.get(req) ?? ''}`,
      })
    : undefined;
  const perAddress = options.perAddress
    ? app.createRateLimit({
        max: options.perAddress.max,
        timeWindow: options.perAddress.timeWindowMs,
        keyGenerator: (req) => `ip:${addressGroup(req.ip)}`,
      })
    : undefined;

  type Limiter = NonNullable<typeof perKey>;
  interface Tally {
    used: number;
    denied: { what: string; max: number; ttl: number } | undefined;
  }
  // Declared once per server rather than as a closure per request: this runs on every metered request.
  async function meter(limiter: Limiter | undefined, what: string, request: FastifyRequest, tally: Tally): Promise<void> {
    if (!limiter) return;
    const r = await limiter(request);
    if (r.isAllowed) return;
    tally.used = Math.max(tally.used, (r.max - r.remaining) / r.max);
    if (r.isExceeded && !tally.denied) tally.denied = { what, max: r.max, ttl: r.ttlInSeconds };
  }

  return async (request, keyId) => {
    const tally: Tally = { used: 0, denied: undefined };
    if (keyId !== undefined) {
      keyIds.set(request, keyId);
      await meter(perKey, 'API key', request, tally);
    }
    await meter(perAddress, 'address', request, tally);
    const { used, denied } = tally;
    const score = Math.round(used * 1000) / 1000;
    if (!denied) return { decision: 'pass', score };
    return {
      decision: 'deny',
      score,
      code: 'E_RATE_LIMITED',
      reason: `more than ${denied.max} requests per window from this ${denied.what}; retry in ${denied.ttl} s`,
      retryAfterSeconds: denied.ttl,
    };
  };
}

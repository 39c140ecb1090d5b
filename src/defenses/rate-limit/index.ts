/**
 * Rate limits per API key and per client address, on @fastify/rate-limit's own store (its
 * fixed-window LRU `LocalStore`). Two independent budgets, because one key can be shared by
 * many addresses (a leaked key) and one address can cycle through many keys (a key farm);
 * an attacker has to stay under both. Runs before the body is parsed, so a flood costs the
 * server a header check, not a JSON parse and a forward pass. Addresses are budgeted by
 * `addressGroup` (an IPv6 client by its /64), and `req.ip` is what Fastify's `trustProxy`
 * makes it.
 *
 * Both buckets are counted in one synchronous pass over the store: the plugin's
 * `createRateLimit` limiter is async (a key-generator await and a promise around the store
 * per call), and calling it once per budget on every metered request cost more than the
 * counting itself. The store and its semantics (window, counter, LRU bound) are the plugin's.
 */
import { createRequire } from 'node:module';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { LayerVerdict } from '../layer.js';
import { addressGroup } from './address.js';

export { addressGroup } from './address.js';

/** The part of @fastify/rate-limit's LocalStore this module uses (it calls back synchronously). */
interface CounterStore {
  incr(key: string, cb: (err: Error | null, res: { current: number; ttl: number }) => void, timeWindow: number, max: number): void;
}
type CounterStoreClass = new (continueExceeding: boolean, exponentialBackoff: boolean, cache?: number) => CounterStore;
// CommonJS without type declarations for this file; the plugin's own default store.
const LocalStore = createRequire(import.meta.url)('@fastify/rate-limit/store/LocalStore.js') as CounterStoreClass;
/** Entries each budget's store keeps (the plugin's default); the least recently counted are forgotten first. */
const STORE_ENTRIES = 5000;

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

export type RateLimitVerdict = LayerVerdict & { retryAfterSeconds?: number };

export interface RateLimitCheck {
  (request: FastifyRequest, keyId: string | undefined): RateLimitVerdict;
}

/**
 * The check the server runs on metered routes: counts the request against the key's budget
 * (when authenticated) and the address group's, and denies when either is over.
 *
 * @example const check = createRateLimits({ perKey: { max: 100, timeWindowMs: 60_000 } }); check(req, 'abc123');
 */
export function createRateLimits(options: RateLimitOptions): RateLimitCheck {
  const perKey = options.perKey;
  const perAddress = options.perAddress;
  const keyStore = perKey ? new LocalStore(false, false, STORE_ENTRIES) : undefined;
  const addressStore = perAddress ? new LocalStore(false, false, STORE_ENTRIES) : undefined;
  // The store answers through a callback, synchronously; these hold its answer for the caller.
  let current = 0;
  let ttl = 0;
  const take = (err: Error | null, res: { current: number; ttl: number }): void => {
    if (err) throw err;
    current = res.current;
    ttl = res.ttl;
  };
  return (request, keyId) => {
    let used = 0;
    let denied: { what: string; max: number; ttl: number } | undefined;
    if (keyId !== undefined && perKey && keyStore) {
      keyStore.incr(`key:${keyId}`, take, perKey.timeWindowMs, perKey.max);
      used = Math.max(used, (perKey.max - Math.max(0, perKey.max - current)) / perKey.max);
      if (current > perKey.max) denied = { what: 'API key', max: perKey.max, ttl: Math.ceil(ttl / 1000) };
    }
    if (perAddress && addressStore) {
      addressStore.incr(`ip:${addressGroup(request.ip)}`, take, perAddress.timeWindowMs, perAddress.max);
      used = Math.max(used, (perAddress.max - Math.max(0, perAddress.max - current)) / perAddress.max);
      if (current > perAddress.max && !denied) denied = { what: 'address', max: perAddress.max, ttl: Math.ceil(ttl / 1000) };
    }
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

/**
 * `createRateLimits` for a server: kept for callers of the earlier API (the server does not
 * need the app for it any more).
 *
 * @example const check = await registerRateLimits(app, { perKey: { max: 100, timeWindowMs: 60_000 } });
 */
export function registerRateLimits(_app: FastifyInstance, options: RateLimitOptions): Promise<RateLimitCheck> {
  return Promise.resolve(createRateLimits(options));
}

/**
 * Who is asking, for every console route: a session cookie from the sign-in form, or (for
 * scripts and the bench) the same `Authorization: Bearer` / `X-API-Key` header `rampart
 * serve` takes. Keys, roles, the timing-safe check and the failure budget are the serve
 * ones (`serve/auth.ts`), not a copy. Operator reads; admin changes. A form post from a
 * session must carry the session's CSRF token.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ServeError } from '../core/errors.js';
import { AuthFailures, authenticateFrom, authorize, presentedKey, type KeyStore, type Principal, type Role } from '../serve/auth.js';
import { SESSION_COOKIE, SessionStore, cookieValue, csrfMatches, type Session } from './sessions.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The least role the route needs; routes without one are public (sign-in, assets). */
    consoleRole?: Role;
  }
  interface FastifyRequest {
    consolePrincipal?: Principal;
    consoleSession?: Session;
  }
}

export interface ConsoleAuth {
  sessions: SessionStore;
  failures: AuthFailures;
  /** Trades a key for a session; throws what `authenticateFrom` throws. */
  signIn(key: string, address: string): Promise<Session>;
}

/** Registers the hook that authenticates and authorises each route by its `consoleRole`. */
export function registerConsoleAuth(app: FastifyInstance, keys: KeyStore): ConsoleAuth {
  const sessions = new SessionStore();
  const failures = new AuthFailures({ max: 20, timeWindowMs: 60_000 });
  app.decorateRequest('consolePrincipal', undefined);
  app.decorateRequest('consoleSession', undefined);
  app.addHook('preHandler', async (req: FastifyRequest) => {
    const role = req.routeOptions.config.consoleRole;
    if (role === undefined) return;
    const session = sessions.get(cookieValue(req.headers.cookie, SESSION_COOKIE));
    if (session) {
      if (req.method === 'POST' && !csrfMatches(session, (req.body as Record<string, unknown> | undefined)?.csrf)) {
        throw new ServeError('E_CSRF', 'forbidden', 'The form is stale or came from another site; reload the page and submit it again.');
      }
      req.consoleSession = session;
      req.consolePrincipal = session.principal;
    } else {
      req.consolePrincipal = await authenticateFrom(keys, presentedKey(req.headers), req.ip, failures);
    }
    authorize(req.consolePrincipal, role);
  });
  return {
    sessions,
    failures,
    async signIn(key, address) {
      return sessions.create(await authenticateFrom(keys, key, address, failures));
    },
  };
}

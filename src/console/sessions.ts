/**
 * Browser sessions over the serve API keys. A browser cannot attach `Authorization` to a
 * link it follows, so the console trades a key (checked by the serve `KeyStore`, with the
 * same failure budget) for a random session id in an HttpOnly, SameSite=Strict cookie.
 * The key itself is never stored. Each session carries a CSRF token that every form posts
 * back. Memory is bounded: the oldest sessions go first past `maxSessions`.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Principal } from '../serve/auth.js';

export const SESSION_COOKIE = 'rampart_console';

export interface Session {
  id: string;
  principal: Principal;
  csrf: string;
  expiresAt: number;
}

export class SessionStore {
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly options: { ttlMs?: number; maxSessions?: number; now?: () => number } = {}) {}

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  /** A new session for an authenticated principal. */
  create(principal: Principal): Session {
    const session: Session = {
      id: randomBytes(32).toString('base64url'),
      principal,
      csrf: randomBytes(24).toString('base64url'),
      expiresAt: this.now() + (this.options.ttlMs ?? 8 * 3600_000),
    };
    this.sessions.set(session.id, session);
    const max = this.options.maxSessions ?? 10_000;
    while (this.sessions.size > max) this.sessions.delete(this.sessions.keys().next().value as string);
    return session;
  }

  /** The live session for a cookie value, or undefined (expired ones are dropped). */
  get(id: string | undefined): Session | undefined {
    if (!id) return undefined;
    const s = this.sessions.get(id);
    if (!s) return undefined;
    if (this.now() >= s.expiresAt) {
      this.sessions.delete(id);
      return undefined;
    }
    return s;
  }

  end(id: string | undefined): void {
    if (id) this.sessions.delete(id);
  }
}

/** Constant-time comparison of a posted CSRF token with the session's. */
export function csrfMatches(session: Session, posted: unknown): boolean {
  if (typeof posted !== 'string') return false;
  const a = Buffer.from(session.csrf);
  const b = Buffer.from(posted);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The value of one cookie from a Cookie header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

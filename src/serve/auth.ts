/**
 * API keys with roles. A key looks like `rk_<id>_<secret>`: the id finds the one stored
 * record without scanning, the secret is 32 random bytes. Only a hash is stored: sha256 by
 * default, which is enough for a 256-bit random secret (slow hashes exist to protect
 * low-entropy passwords), or scrypt when a policy demands it; scrypt checks are memoised
 * per presented key so a request does not pay ~50 ms. Hashes are compared with
 * `crypto.timingSafeEqual`, and every failure costs the same whatever the id: when the
 * store holds scrypt keys, an unknown id, a malformed key or a wrong sha256 secret runs
 * scrypt against a dummy salt too, so timing tells an attacker neither which ids exist
 * nor how much of a secret matched. Failures are counted per address (`AuthFailures`):
 * past the budget an address gets 429 for every key until its window ends. In memory, the
 * server keeps the secret of each key that has authenticated (one per stored id), so a
 * repeat costs a constant-time compare rather than a hash; only the hashes are ever written.
 *
 * Roles nest: `admin` can do what `operator` can, which can do what `predict` can.
 */
import * as crypto from 'node:crypto';
import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual, type BinaryLike, type ScryptOptions } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { ConfigError, ServeError, UsageError, listChoices } from '../core/errors.js';
import { writeJsonFile } from '../core/files.js';
import type { AuthFailures } from './auth-failures.js';

export { AuthFailures, type FailureBudget } from './auth-failures.js';

export const ROLES = ['predict', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

const RANK: Record<Role, number> = { predict: 0, operator: 1, admin: 2 };

const recordSchema = z.object({
  id: z.string().regex(/^[a-z0-9]{8,32}$/),
  name: z.string().optional(),
  role: z.enum(ROLES),
  hash: z.string().regex(/^(sha256:[0-9a-f]{64}|scrypt:\d+:\d+:\d+:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+)$/),
  createdAt: z.string().optional(),
});

const fileSchema = z.object({
  kind: z.literal('rampart.api-keys'),
  schemaVersion: z.literal(1),
  keys: z.array(recordSchema),
});

export type ApiKeyRecord = z.infer<typeof recordSchema>;
export type KeysFile = z.infer<typeof fileSchema>;

/** The authenticated caller, as routes see it. */
export interface Principal {
  keyId: string;
  name?: string;
  role: Role;
}

const KEY_PATTERN = /^rk_([a-z0-9]{8,32})_([A-Za-z0-9_-]{43})$/;
/** Characters (and, being base64url, bytes) in a key's secret part. */
const SECRET_CHARS = 43;

function scrypt(password: BinaryLike, salt: BinaryLike, keylen: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scryptCb(password, salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key))));
}

// Every request hashes its key: the one-shot `crypto.hash` (Node ≥ 20.12) skips the Hash object and costs about half.
const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: 'buffer') => Buffer }).hash;

function sha256(text: string): Buffer {
  return oneShot ? oneShot('sha256', text, 'buffer') : createHash('sha256').update(text, 'utf8').digest();
}

/** A fresh random key; show it once, store only its hash. */
export function generateApiKey(): { id: string; key: string } {
  const id = randomBytes(8).toString('hex');
  return { id, key: `rk_${id}_${randomBytes(32).toString('base64url')}` };
}

/** The stored form of a key: `sha256:<hex>` or `scrypt:N:r:p:<salt>:<hash>` (base64). */
export async function hashApiKey(key: string, method: 'sha256' | 'scrypt' = 'sha256'): Promise<string> {
  if (method === 'sha256') return `sha256:${sha256(key).toString('hex')}`;
  const salt = randomBytes(16);
  const [N, r, p] = [16384, 8, 1];
  const hash = await scrypt(key, salt, 32, { N, r, p });
  return `scrypt:${N}:${r}:${p}:${salt.toString('base64')}:${hash.toString('base64')}`;
}

/**
 * Checks a role name from a flag or config.
 *
 * @throws UsageError `E_UNKNOWN_ROLE` listing the roles.
 */
export function parseRole(value: string): Role {
  if ((ROLES as readonly string[]).includes(value)) return value as Role;
  throw new UsageError('E_UNKNOWN_ROLE', `Unknown role '${value}'; use ${listChoices(ROLES)}.`, { details: { value, valid: ROLES } });
}

/**
 * Reads a keys file.
 *
 * @throws ConfigError `E_KEYS_FILE` when it is missing, not JSON or not a keys file.
 */
export async function readKeysFile(path: string): Promise<KeysFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new ConfigError(
      'E_KEYS_FILE',
      `Cannot read the keys file ${path}; create one with 'rampart keys add --file ${path} --role predict'.`,
      { cause },
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw new ConfigError('E_KEYS_FILE', `The keys file ${path} is not valid JSON.`, { cause });
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(
      'E_KEYS_FILE',
      `The keys file ${path} is malformed at '${issue?.path.join('.') ?? ''}': ${issue?.message ?? 'invalid'}.`,
    );
  }
  return parsed.data;
}

/**
 * Creates a key with a role, appends its hash to the keys file (created if missing, mode
 * 0600) and returns the key, which is never stored.
 *
 * @throws ConfigError `E_KEYS_FILE` when an existing file is malformed.
 * @example const { key } = await addApiKey('keys.json', { role: 'admin', name: 'ops' });
 */
export async function addApiKey(
  path: string,
  options: { role: Role; name?: string; hash?: 'sha256' | 'scrypt' },
): Promise<{ key: string; record: ApiKeyRecord }> {
  let file: KeysFile = { kind: 'rampart.api-keys', schemaVersion: 1, keys: [] };
  try {
    await readFile(path);
    file = await readKeysFile(path);
  } catch (error) {
    if (!(error instanceof Error && 'code' in error && error.code === 'ENOENT')) throw error;
  }
  const { id, key } = generateApiKey();
  const record: ApiKeyRecord = {
    id,
    role: options.role,
    hash: await hashApiKey(key, options.hash),
    createdAt: new Date().toISOString(),
    ...(options.name ? { name: options.name } : {}),
  };
  file.keys.push(record);
  // Created 0600 before the first byte is written, not chmod-ed afterwards.
  await writeJsonFile(path, file, { mode: 0o600 });
  return { key, record };
}

/** Pulls the presented key from `Authorization: Bearer …` or `X-API-Key`. */
export function presentedKey(headers: Record<string, string | string[] | undefined>): string | undefined {
  const auth = headers.authorization;
  if (typeof auth === 'string' && /^bearer /i.test(auth)) return auth.slice(7).trim();
  const header = headers['x-api-key'];
  return typeof header === 'string' ? header.trim() : undefined;
}

/** scrypt parameters of a stored hash. */
interface ScryptParams {
  N: number;
  r: number;
  p: number;
  keylen: number;
}

function scryptParams(hash: string): ScryptParams & { salt: Buffer; expected: Buffer } {
  const [, N, r, p, salt, expected] = hash.split(':') as [string, string, string, string, string, string];
  const bytes = Buffer.from(expected, 'base64');
  return { N: Number(N), r: Number(r), p: Number(p), keylen: bytes.length, salt: Buffer.from(salt, 'base64'), expected: bytes };
}

const principalOf = (record: ApiKeyRecord): Principal => ({
  keyId: record.id,
  role: record.role,
  ...(record.name ? { name: record.name } : {}),
});

/** Verifies presented keys against the stored hashes. */
export class KeyStore {
  private readonly byId = new Map<string, ApiKeyRecord>();
  /** The sha256 records' hashes as bytes, decoded once rather than on every request. */
  private readonly sha256Of = new Map<string, Buffer>();
  /** sha256 of presented keys that passed a scrypt check, to skip the slow hash next time. */
  private readonly scryptPassed = new Map<string, string>();
  private readonly dummy = sha256('rampart-no-such-key');
  /**
   * The secret part of each key that has authenticated, by id (at most one per stored record),
   * so a repeat is one constant-time compare instead of a sha256 (about 7 µs on a busy request
   * path). Every well-formed key pays the compare, against `noSecret` when its id has no entry.
   */
  private readonly verified = new Map<string, Buffer>();
  private readonly noSecret = randomBytes(SECRET_CHARS);
  /** The dearest scrypt parameters in the store: what every failure pays, so failures all cost alike. */
  private readonly failureCost: (ScryptParams & { salt: Buffer }) | undefined;

  constructor(readonly records: readonly ApiKeyRecord[]) {
    let dearest: ScryptParams | undefined;
    for (const r of records) {
      this.byId.set(r.id, r);
      if (r.hash.startsWith('sha256:')) this.sha256Of.set(r.id, Buffer.from(r.hash.slice(7), 'hex'));
      if (r.hash.startsWith('scrypt:')) {
        const p = scryptParams(r.hash);
        if (!dearest || p.N * p.r * p.p > dearest.N * dearest.r * dearest.p) dearest = { N: p.N, r: p.r, p: p.p, keylen: p.keylen };
      }
    }
    this.failureCost = dearest ? { ...dearest, salt: randomBytes(16) } : undefined;
  }

  static async fromFile(path: string): Promise<KeyStore> {
    return new KeyStore((await readKeysFile(path)).keys);
  }

  /**
   * The principal of a valid key when no slow hash is needed to tell (a sha256 key, or an
   * scrypt key that passed before), synchronously; undefined otherwise, and then
   * `authenticate` decides. Every id pays the same here (a sha256 and one constant-time
   * compare, against a dummy for an unknown id), so a failure that goes on to `authenticate`
   * costs the same whether or not its id exists.
   */
  tryAuthenticate(key: string | undefined): Principal | undefined {
    if (key === undefined || key === '') return undefined;
    const match = KEY_PATTERN.exec(key);
    const record = match ? this.byId.get(match[1] as string) : undefined;
    let secret: Buffer | undefined;
    if (match) {
      secret = Buffer.from(match[2] as string, 'latin1');
      const known = this.verified.get(match[1] as string);
      // The same compare whether or not the id exists or has authenticated before; a miss goes on to the sha256 below.
      if (timingSafeEqual(secret, known ?? this.noSecret) && known && record) return principalOf(record);
    }
    const presented = sha256(key);
    if (!record) {
      timingSafeEqual(presented, this.dummy);
      return undefined;
    }
    const stored = this.sha256Of.get(record.id);
    const ok = stored
      ? timingSafeEqual(presented, stored)
      : timingSafeEqual(
          Buffer.from(this.scryptPassed.get(presented.toString('hex')) ?? '\u0000'.repeat(record.id.length)),
          Buffer.from(record.id),
        );
    if (!ok) return undefined;
    if (secret) this.verified.set(record.id, secret);
    return principalOf(record);
  }

  /**
   * @throws ServeError `E_AUTH_REQUIRED` (401) without a key, `E_AUTH_INVALID` (401) for a wrong one.
   */
  async authenticate(key: string | undefined): Promise<Principal> {
    if (key === undefined || key === '') {
      throw new ServeError(
        'E_AUTH_REQUIRED',
        'auth',
        'This route needs an API key; send it as "Authorization: Bearer <key>" or "X-API-Key: <key>".',
      );
    }
    const match = KEY_PATTERN.exec(key);
    const record = match ? this.byId.get(match[1] as string) : undefined;
    const presented = sha256(key);
    let ok = false;
    let paidScrypt = false;
    if (!record) timingSafeEqual(presented, this.dummy);
    else if (record.hash.startsWith('sha256:')) ok = timingSafeEqual(presented, this.sha256Of.get(record.id) as Buffer);
    else {
      const memo = this.scryptPassed.get(presented.toString('hex'));
      if (memo !== undefined) ok = timingSafeEqual(Buffer.from(memo), Buffer.from(record.id));
      else {
        const p = scryptParams(record.hash);
        const actual = await scrypt(key, p.salt, p.keylen, { N: p.N, r: p.r, p: p.p });
        paidScrypt = true;
        ok = timingSafeEqual(actual, p.expected);
        if (ok) this.scryptPassed.set(presented.toString('hex'), record.id);
      }
    }
    if (ok && record) return { keyId: record.id, role: record.role, ...(record.name ? { name: record.name } : {}) };
    // An unknown id or a wrong sha256 secret pays the scrypt a wrong scrypt secret pays.
    const cost = this.failureCost;
    if (cost && !paidScrypt) await scrypt(key, cost.salt, cost.keylen, { N: cost.N, r: cost.r, p: cost.p });
    // Built only on failure: an error captures a stack trace, too dear for every request.
    throw new ServeError('E_AUTH_INVALID', 'auth', 'The API key is not valid; check it or ask an admin for a new one (rampart keys add).');
  }
}

/**
 * Authenticates one request from `address`: refuses an address over its failure budget
 * before looking at the key, and counts a wrong key against it.
 *
 * @throws ServeError `E_AUTH_THROTTLED` (429, `retryAfterSeconds`) over the budget; what `KeyStore.authenticate` throws.
 * @example const principal = await authenticateFrom(keys, presentedKey(req.headers), req.ip, failures);
 */
export async function authenticateFrom(
  keys: KeyStore,
  key: string | undefined,
  address: string,
  failures?: AuthFailures,
): Promise<Principal> {
  return authenticateFast(keys, key, address, failures) ?? authenticateSlow(keys, key, address, failures);
}

/**
 * `authenticateFrom`'s synchronous part: refuses an address over its failure budget, and
 * returns the principal of a key `KeyStore.tryAuthenticate` accepts; undefined when the
 * rest of the check (`authenticateSlow`) must run.
 *
 * @throws ServeError `E_AUTH_THROTTLED` (429, `retryAfterSeconds`) over the budget.
 */
export function authenticateFast(keys: KeyStore, key: string | undefined, address: string, failures?: AuthFailures): Principal | undefined {
  const wait = failures?.blocked(address);
  if (wait !== undefined) {
    throw new ServeError('E_AUTH_THROTTLED', 'rate-limit', `Too many failed authentications from this address; retry in ${wait} s.`, {
      details: { retryAfterSeconds: wait },
    });
  }
  return keys.tryAuthenticate(key);
}

/**
 * `authenticateFrom` after `authenticateFast` found no principal: the full check, a wrong
 * key counted against the address.
 *
 * @throws ServeError what `KeyStore.authenticate` throws.
 */
export async function authenticateSlow(
  keys: KeyStore,
  key: string | undefined,
  address: string,
  failures?: AuthFailures,
): Promise<Principal> {
  try {
    return await keys.authenticate(key);
  } catch (error) {
    if (error instanceof ServeError && error.code === 'E_AUTH_INVALID') failures?.record(address);
    throw error;
  }
}

/**
 * @throws ServeError `E_FORBIDDEN` (403) when the principal's role is below `needed`.
 */
export function authorize(principal: Principal, needed: Role): void {
  if (RANK[principal.role] < RANK[needed]) {
    throw new ServeError(
      'E_FORBIDDEN',
      'forbidden',
      `This route needs the '${needed}' role; the key '${principal.keyId}' has '${principal.role}'.`,
      {
        details: { needed, role: principal.role },
      },
    );
  }
}

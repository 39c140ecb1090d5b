/**
 * API keys with roles. A key looks like `rk_<id>_<secret>`: the id finds the one stored
 * record without scanning, the secret is 32 random bytes. Only a hash is stored: sha256 by
 * default, which is enough for a 256-bit random secret (slow hashes exist to protect
 * low-entropy passwords), or scrypt when a policy demands it; scrypt checks are memoised
 * per presented key so a request does not pay ~50 ms. Hashes are compared with
 * `crypto.timingSafeEqual`, and an unknown id still costs one comparison, so timing
 * tells an attacker neither which ids exist nor how much of a secret matched.
 *
 * Roles nest: `admin` can do what `operator` can, which can do what `predict` can.
 */
import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual, type BinaryLike, type ScryptOptions } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { ConfigError, ServeError, UsageError, listChoices } from '../core/errors.js';
import { writeJsonFile } from '../core/files.js';

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

function scrypt(password: BinaryLike, salt: BinaryLike, keylen: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scryptCb(password, salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key))));
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
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
    throw new ConfigError('E_KEYS_FILE', `Cannot read the keys file ${path}; create one with 'rampart keys add --file ${path} --role predict'.`, { cause });
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
    throw new ConfigError('E_KEYS_FILE', `The keys file ${path} is malformed at '${issue?.path.join('.') ?? ''}': ${issue?.message ?? 'invalid'}.`);
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
export async function addApiKey(path: string, options: { role: Role; name?: string; hash?: 'sha256' | 'scrypt' }): Promise<{ key: string; record: ApiKeyRecord }> {
  let file: KeysFile = { kind: 'rampart.api-keys', schemaVersion: 1, keys: [] };
  try {
    await readFile(path);
    file = await readKeysFile(path);
  } catch (error) {
    if (!(error instanceof Error && 'code' in error && error.code === 'ENOENT')) throw error;
  }
  const { id, key } = generateApiKey();
  const record: ApiKeyRecord = { id, role: options.role, hash: await hashApiKey(key, options.hash), createdAt: new Date().toISOString(), ...(options.name ? { name: options.name } : {}) };
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

/** Verifies presented keys against the stored hashes. */
export class KeyStore {
  private readonly byId = new Map<string, ApiKeyRecord>();
  /** sha256 of presented keys that passed a scrypt check, to skip the slow hash next time. */
  private readonly scryptPassed = new Map<string, string>();
  private readonly dummy = sha256('rampart-no-such-key');

  constructor(readonly records: readonly ApiKeyRecord[]) {
    for (const r of records) this.byId.set(r.id, r);
  }

  static async fromFile(path: string): Promise<KeyStore> {
    return new KeyStore((await readKeysFile(path)).keys);
  }

  /**
   * @throws ServeError `E_AUTH_REQUIRED` (401) without a key, `E_AUTH_INVALID` (401) for a wrong one.
   */
  async authenticate(key: string | undefined): Promise<Principal> {
    if (key === undefined || key === '') {
      throw new ServeError('E_AUTH_REQUIRED', 'auth', 'This route needs an API key; send it as "Authorization: Bearer <key>" or "X-API-Key: <key>".');
    }
    // Built only on failure: an error captures a stack trace, too dear for every request.
    const invalid = (): ServeError => new ServeError('E_AUTH_INVALID', 'auth', 'The API key is not valid; check it or ask an admin for a new one (rampart keys add).');
    const match = KEY_PATTERN.exec(key);
    const record = match ? this.byId.get(match[1] as string) : undefined;
    const presented = sha256(key);
    if (!record) {
      timingSafeEqual(presented, this.dummy);
      throw invalid();
    }
    let ok: boolean;
    if (record.hash.startsWith('sha256:')) {
      ok = timingSafeEqual(presented, Buffer.from(record.hash.slice(7), 'hex'));
    } else {
      const memo = this.scryptPassed.get(presented.toString('hex'));
      if (memo !== undefined) ok = timingSafeEqual(Buffer.from(memo), Buffer.from(record.id));
      else {
        const [, N, r, p, salt, hash] = record.hash.split(':') as [string, string, string, string, string, string];
        const expected = Buffer.from(hash, 'base64');
        const actual = await scrypt(key, Buffer.from(salt, 'base64'), expected.length, { N: Number(N), r: Number(r), p: Number(p) });
        ok = timingSafeEqual(actual, expected);
        if (ok) this.scryptPassed.set(presented.toString('hex'), record.id);
      }
    }
    if (!ok) throw invalid();
    return { keyId: record.id, role: record.role, ...(record.name ? { name: record.name } : {}) };
  }
}

/**
 * @throws ServeError `E_FORBIDDEN` (403) when the principal's role is below `needed`.
 */
export function authorize(principal: Principal, needed: Role): void {
  if (RANK[principal.role] < RANK[needed]) {
    throw new ServeError('E_FORBIDDEN', 'forbidden', `This route needs the '${needed}' role; the key '${principal.keyId}' has '${principal.role}'.`, {
      details: { needed, role: principal.role },
    });
  }
}

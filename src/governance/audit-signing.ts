/**
 * Ed25519 signatures over the audit head, through `node:crypto`. The hash chain alone
 * catches an edited entry but not a chain rewritten whole; a head signed with a private key
 * kept outside `.rampart/` can be checked by anyone holding the public key, and a rewriter
 * without the private key cannot produce a new one.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { RegistryError } from '../core/errors.js';
import { writeFileAtomicSync } from '../core/files.js';
import type { SignedHead } from './types.js';

/** Where `rampart audit keygen` puts the private key when neither --key nor $RAMPART_AUDIT_KEY says. */
export function defaultAuditKeyPath(): string {
  return process.env.RAMPART_AUDIT_KEY?.trim() || join(homedir(), '.rampart', 'audit-ed25519.pem');
}

/** The bytes that are signed: a domain tag, the entry number and its hash. */
function headMessage(seq: number, hash: string): Buffer {
  return Buffer.from(`rampart-audit-head/v1 ${seq} ${hash}`, 'utf8');
}

/** sha256 of the public key's SPKI DER, first 16 hex characters. */
export function auditKeyId(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex')
    .slice(0, 16);
}

function requireEd25519(key: KeyObject, what: string): KeyObject {
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new RegistryError(
      'E_AUDIT_KEY',
      `${what} is a ${key.asymmetricKeyType ?? key.type} key; ` +
        "the audit head is signed with Ed25519 (create one with 'rampart audit keygen').",
    );
  }
  return key;
}

/** Signs entry `seq` with hash `hash`. */
export function signHead(privateKey: KeyObject, seq: number, hash: string): SignedHead {
  requireEd25519(privateKey, 'The signing key');
  const publicKey = createPublicKey(privateKey);
  return {
    seq,
    hash,
    keyId: auditKeyId(publicKey),
    publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    signature: sign(null, headMessage(seq, hash), privateKey).toString('base64'),
  };
}

/** True when `signed` verifies against `publicKey` (default: the public key stored with it). */
export function verifySignedHead(signed: SignedHead, publicKey?: KeyObject): boolean {
  try {
    const key = publicKey ?? createPublicKey(signed.publicKey);
    if (key.asymmetricKeyType !== 'ed25519') return false;
    return verify(null, headMessage(signed.seq, signed.hash), key, Buffer.from(signed.signature, 'base64'));
  } catch {
    // An unparsable stored key or signature is a signature that does not verify.
    return false;
  }
}

/** Parses a stored signed head; undefined when it is not one. */
export function parseSignedHead(text: string | undefined): SignedHead | undefined {
  if (text === undefined) return undefined;
  try {
    const v = JSON.parse(text) as Partial<SignedHead>;
    const strings = [v.hash, v.keyId, v.publicKey, v.signature].every((s) => typeof s === 'string');
    const ok = Number.isInteger(v.seq) && strings;
    return ok ? (v as SignedHead) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Loads an Ed25519 private key from a PEM file, refusing one that others can read.
 *
 * @throws RegistryError `E_AUDIT_KEY` (missing, unreadable, not Ed25519), `E_AUDIT_KEY_PERMISSIONS` (group or others may read it).
 * @example const key = loadAuditPrivateKey('/home/ops/.rampart/audit-ed25519.pem');
 */
export function loadAuditPrivateKey(path: string): KeyObject {
  let text: string;
  try {
    const mode = statSync(path).mode & 0o777;
    if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
      throw new RegistryError(
        'E_AUDIT_KEY_PERMISSIONS',
        `The audit signing key ${path} has mode ${mode.toString(8)}; others can read it. ` + `Run 'chmod 600 ${path}'.`,
        {
          details: { path, mode: mode.toString(8) },
        },
      );
    }
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if (error instanceof RegistryError) throw error;
    throw new RegistryError(
      'E_AUDIT_KEY',
      `Cannot read the audit signing key ${path}; create one with 'rampart audit keygen --key ${path}'.`,
      { cause: error, details: { path } },
    );
  }
  try {
    return requireEd25519(createPrivateKey(text), `The key in ${path}`);
  } catch (error) {
    if (error instanceof RegistryError) throw error;
    throw new RegistryError(
      'E_AUDIT_KEY',
      `${path} does not hold a PEM private key; create one with 'rampart audit keygen --key ${path}'.`,
      { cause: error, details: { path } },
    );
  }
}

/**
 * Loads a public key (or derives it from a private key) from a PEM file.
 *
 * @throws RegistryError `E_AUDIT_KEY` when the file is missing or holds no Ed25519 key.
 */
export function loadAuditPublicKey(path: string): KeyObject {
  try {
    return requireEd25519(createPublicKey(readFileSync(path, 'utf8')), `The key in ${path}`);
  } catch (error) {
    if (error instanceof RegistryError) throw error;
    throw new RegistryError('E_AUDIT_KEY', `Cannot read an Ed25519 public key from ${path} (the .pub file 'rampart audit keygen' wrote).`, {
      cause: error,
      details: { path },
    });
  }
}

/**
 * Creates an Ed25519 key pair: the private key at `path` (mode 0600, in a 0700 folder when
 * it creates one) and the public key at `path.pub` (mode 0644). Refuses to replace an
 * existing key unless `force`, since losing it makes earlier signatures unverifiable.
 *
 * @throws RegistryError `E_AUDIT_KEY_EXISTS` when `path` exists and `force` is not set.
 * @example const { keyId, publicKeyPath } = createAuditKeyPair('/secure/audit.pem');
 */
export function createAuditKeyPair(
  path: string,
  options: { force?: boolean } = {},
): { keyId: string; privateKeyPath: string; publicKeyPath: string } {
  if (existsSync(path) && !options.force) {
    throw new RegistryError(
      'E_AUDIT_KEY_EXISTS',
      `${path} already exists; keep it (earlier signatures need its public key) ` + 'or pass --force to replace it.',
      { details: { path } },
    );
  }
  if (!existsSync(dirname(path))) mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  writeFileAtomicSync(path, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), { mode: 0o600 });
  const publicKeyPath = `${path}.pub`;
  writeFileAtomicSync(publicKeyPath, publicKey.export({ type: 'spki', format: 'pem' }).toString(), { mode: 0o644 });
  return { keyId: auditKeyId(publicKey), privateKeyPath: path, publicKeyPath };
}

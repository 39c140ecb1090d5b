/** Opens a `.rampart/` directory: the database, the blob store and the four components on top. */
import type { KeyObject } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { RegistryError } from '../core/errors.js';
import { createAuditLog } from './audit.js';
import { createCaptureStore } from './capture-store.js';
import { loadAuditPrivateKey } from './audit-signing.js';
import type { GovernanceContext } from './context.js';
import { ObjectStore } from './objects.js';
import { createRegistry } from './registry.js';
import { createRiskRegister } from './risks.js';
import { openDatabase } from './schema.js';
import type { Governance, GovernanceOptions } from './types.js';
import { createVulnerabilityRegister } from './vulnerabilities.js';

export const DEFAULT_GOVERNANCE_DIR = '.rampart';
export const DATABASE_FILE = 'rampart.db';

function defaultActor(): string {
  const fromEnv = process.env.RAMPART_ACTOR?.trim();
  if (fromEnv) return fromEnv;
  try {
    return userInfo().username || 'unknown';
  } catch {
    // No passwd entry (some containers): still record something stable.
    return `uid:${process.getuid?.() ?? 'unknown'}`;
  }
}

/**
 * Opens (creating on first use) the governance store in `dir`.
 *
 * @throws RegistryError `E_REGISTRY_MISSING` with `mustExist` when `dir` holds no registry; `E_REGISTRY_SCHEMA_NEWER`;
 *   `E_AUDIT_KEY` / `E_AUDIT_KEY_PERMISSIONS` for an unusable signing key.
 * @throws RegistryStorageError `E_REGISTRY_DB_CORRUPT` when `rampart.db` is not a readable SQLite database.
 * @example
 * const gov = openGovernance('.rampart', { actor: 'ci' });
 * try { gov.registry.list({ kind: 'model' }); } finally { gov.close(); }
 */
export function openGovernance(dir: string = DEFAULT_GOVERNANCE_DIR, options: GovernanceOptions = {}): Governance {
  const root = resolve(dir);
  const file = join(root, DATABASE_FILE);
  if (options.mustExist && !existsSync(file)) {
    throw new RegistryError(
      'E_REGISTRY_MISSING',
      `No Rampart registry in ${root} (no ${DATABASE_FILE}); point --dir at the .rampart folder a pipeline run created.`,
      { details: { dir: root } },
    );
  }
  const signingKey = resolveSigningKey(options.signingKey);
  mkdirSync(root, { recursive: true });
  const objects = new ObjectStore(root);
  const db = openDatabase(file, options.durability ? { durability: options.durability } : {});
  const clock = options.now ?? (() => new Date());
  const ctx: GovernanceContext = {
    dir: root,
    db,
    objects,
    actor: options.actor?.trim() || defaultActor(),
    now: () => clock().toISOString(),
    // better-sqlite3 turns nested transaction() calls into savepoints, so components can nest freely.
    tx: <T>(fn: () => T): T => db.transaction(fn).immediate(),
  };
  const audit = createAuditLog(ctx, signingKey ? { signingKey } : {});
  const registry = createRegistry(ctx, audit);
  const risks = createRiskRegister(ctx, audit, registry);
  const vulnerabilities = createVulnerabilityRegister(ctx, audit, registry);
  const captures = createCaptureStore(ctx, audit);
  let closed = false;
  return {
    dir: root,
    actor: ctx.actor,
    registry,
    audit,
    risks,
    vulnerabilities,
    captures,
    transaction: ctx.tx,
    check(checkOptions = {}) {
      const integrity = (db.pragma('integrity_check') as Array<{ integrity_check: string }>).map((r) => r.integrity_check).join('; ');
      const artifacts = registry.check();
      const tags = registry.checkTags();
      const auditResult = audit.verify(checkOptions.publicKey ? { publicKey: checkOptions.publicKey } : {});
      const ok = integrity === 'ok' && artifacts.problems.length === 0 && tags.problems.length === 0 && auditResult.ok;
      return { integrity, artifacts, tags, audit: auditResult, ok };
    },
    close() {
      if (closed) return;
      closed = true;
      db.close();
    },
  };
}

/** The signing key: given, or the file $RAMPART_AUDIT_KEY names, or none. */
function resolveSigningKey(given: string | KeyObject | undefined): KeyObject | undefined {
  if (given !== undefined) return typeof given === 'string' ? loadAuditPrivateKey(given) : given;
  const fromEnv = process.env.RAMPART_AUDIT_KEY?.trim();
  return fromEnv ? loadAuditPrivateKey(fromEnv) : undefined;
}

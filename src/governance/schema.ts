/**
 * The governance database: one SQLite file in WAL mode with foreign keys on, and numbered
 * migrations recorded in `schema_migrations` so an older `.rampart/` upgrades in place and
 * a newer one is refused instead of misread.
 */
import Database from 'better-sqlite3';
import { RegistryError } from '../core/errors.js';
import { RegistryStorageError } from './storage-error.js';

interface Migration {
  version: number;
  name: string;
  sql: string;
}

const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'registry, lineage, tags, audit, risks, vulnerabilities',
    sql: `
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE artifacts (
        digest TEXT PRIMARY KEY CHECK (length(digest) = 64),
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        storage TEXT NOT NULL CHECK (storage IN ('blob', 'manifest')),
        size INTEGER NOT NULL,
        media_type TEXT NOT NULL,
        meta TEXT NOT NULL,
        created_at TEXT NOT NULL,
        actor TEXT NOT NULL
      );
      CREATE INDEX artifacts_kind ON artifacts (kind);
      CREATE TABLE manifest_files (
        digest TEXT NOT NULL REFERENCES artifacts (digest),
        path TEXT NOT NULL,
        file_digest TEXT NOT NULL CHECK (length(file_digest) = 64),
        size INTEGER NOT NULL,
        PRIMARY KEY (digest, path)
      );
      CREATE TABLE lineage (
        child TEXT NOT NULL REFERENCES artifacts (digest),
        parent TEXT NOT NULL REFERENCES artifacts (digest),
        PRIMARY KEY (child, parent),
        CHECK (child <> parent)
      );
      CREATE INDEX lineage_parent ON lineage (parent);
      CREATE TABLE tags (
        tag TEXT PRIMARY KEY,
        digest TEXT NOT NULL REFERENCES artifacts (digest),
        updated_at TEXT NOT NULL
      );
      CREATE TABLE tag_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        tag TEXT NOT NULL,
        digest TEXT NOT NULL REFERENCES artifacts (digest),
        previous_digest TEXT REFERENCES artifacts (digest),
        action TEXT NOT NULL CHECK (action IN ('tag', 'promote', 'rollback')),
        reason TEXT,
        actor TEXT NOT NULL,
        at TEXT NOT NULL
      );
      CREATE INDEX tag_events_tag ON tag_events (tag, id);
      CREATE TABLE audit_log (
        seq INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        subject TEXT NOT NULL,
        details TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
      );
      CREATE TABLE risks (
        id TEXT PRIMARY KEY,
        seq INTEGER NOT NULL UNIQUE,
        threat_id TEXT UNIQUE,
        title TEXT NOT NULL,
        likelihood INTEGER NOT NULL CHECK (likelihood BETWEEN 1 AND 5),
        impact INTEGER NOT NULL CHECK (impact BETWEEN 1 AND 5),
        owner TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('open', 'mitigated', 'accepted')),
        notes TEXT,
        measured_success REAL CHECK (measured_success IS NULL OR (measured_success >= 0 AND measured_success <= 1)),
        measured_at TEXT,
        evaluation_digest TEXT REFERENCES artifacts (digest),
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE TABLE vulnerabilities (
        id TEXT PRIMARY KEY,
        seq INTEGER NOT NULL UNIQUE,
        threat_id TEXT NOT NULL,
        title TEXT NOT NULL,
        attack TEXT NOT NULL,
        severity TEXT NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
        owner TEXT NOT NULL,
        remediation TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('open', 'fixed', 'verified')),
        evidence TEXT NOT NULL,
        evaluation_digest TEXT REFERENCES artifacts (digest),
        report_digest TEXT NOT NULL REFERENCES artifacts (digest),
        verified_by TEXT REFERENCES artifacts (digest),
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE TABLE vuln_transitions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        vuln_id TEXT NOT NULL REFERENCES vulnerabilities (id),
        from_status TEXT NOT NULL,
        to_status TEXT NOT NULL,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        evaluation_digest TEXT REFERENCES artifacts (digest),
        note TEXT
      );
    `,
  },
  {
    // Version 2 only adds tables, so a version-1 registry upgrades in place and keeps every row.
    version: 2,
    name: 'capture store and review decisions',
    sql: `
      CREATE TABLE capture_blobs (
        digest TEXT PRIMARY KEY CHECK (length(digest) = 64),
        bytes BLOB NOT NULL
      );
      CREATE TABLE captures (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        at TEXT NOT NULL,
        source TEXT NOT NULL CHECK (source IN ('flag', 'deny', 'canary', 'evaluation')),
        channel TEXT NOT NULL CHECK (channel IN ('image', 'text')),
        model TEXT NOT NULL,
        client TEXT NOT NULL,
        input_digest TEXT NOT NULL REFERENCES capture_blobs (digest),
        input_bytes INTEGER NOT NULL,
        shape TEXT,
        predicted INTEGER,
        label INTEGER,
        threat TEXT,
        decisions TEXT NOT NULL,
        redacted INTEGER NOT NULL CHECK (redacted IN (0, 1)),
        note TEXT NOT NULL,
        review_status TEXT NOT NULL DEFAULT 'pending' CHECK (review_status IN ('pending', 'attack', 'benign', 'relabel')),
        true_label INTEGER,
        reviewer TEXT,
        review_reason TEXT,
        decided_at TEXT
      );
      CREATE INDEX captures_at ON captures (at);
      CREATE INDEX captures_status ON captures (review_status, seq);
      CREATE INDEX captures_input ON captures (input_digest);
    `,
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/**
 * Opens (creating if needed) the database and brings its schema up to date.
 *
 * @throws RegistryError `E_REGISTRY_SCHEMA_NEWER` when a newer Rampart wrote the file.
 * @throws RegistryStorageError `E_REGISTRY_DB_CORRUPT` when the file is not a readable SQLite
 *   database; `E_REGISTRY_DB` when SQLite cannot open it (permissions, a full disk, a lock).
 */
export function openDatabase(file: string, options: { durability?: 'full' | 'normal' } = {}): Database.Database {
  let db: Database.Database;
  try {
    db = new Database(file);
  } catch (error) {
    throw storageFault(error, file);
  }
  try {
    db.pragma('journal_mode = WAL');
    // FULL: a committed promotion or audit entry survives power loss, not only a crash.
    db.pragma(options.durability === 'normal' ? 'synchronous = NORMAL' : 'synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    migrate(db, file);
    return db;
  } catch (error) {
    db.close();
    throw storageFault(error, file);
  }
}

/** SQLite's own errors as coded ones: a damaged file says so and what to do, without a stack trace. */
function storageFault(error: unknown, file: string): unknown {
  const code = (error as { code?: unknown }).code;
  if (error instanceof RegistryError || typeof code !== 'string' || !code.startsWith('SQLITE_')) return error;
  const reason = error instanceof Error ? error.message : String(error);
  if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) {
    return new RegistryStorageError(
      'E_REGISTRY_DB_CORRUPT',
      `The registry database ${file} is damaged (${reason}); restore it from a backup, or check it with 'sqlite3 ${file} "PRAGMA integrity_check"'.`,
      { cause: error, details: { sqlite: code } },
    );
  }
  return new RegistryStorageError('E_REGISTRY_DB', `SQLite cannot use the registry database ${file} (${reason}).`, {
    cause: error,
    details: { sqlite: code },
  });
}

function migrate(db: Database.Database, file: string): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
  const row = db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null };
  const current = row.v ?? 0;
  if (current > SCHEMA_VERSION) {
    throw new RegistryError(
      'E_REGISTRY_SCHEMA_NEWER',
      `The registry ${file} has schema version ${current}, newer than this Rampart understands (${SCHEMA_VERSION}); upgrade Rampart to open it.`,
      {
        details: { file, version: current, supported: SCHEMA_VERSION },
      },
    );
  }
  const apply = db.transaction((m: Migration) => {
    db.exec(m.sql);
    db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
      m.version,
      m.name,
      new Date().toISOString(),
    );
  });
  // IMMEDIATE so two processes opening a fresh directory do not both migrate.
  for (const m of MIGRATIONS) if (m.version > current) apply.immediate(m);
}

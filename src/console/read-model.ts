/**
 * The console's paged reads of the registry database. The governance API returns whole
 * lists, which is right for the CLI but not for a page over 1,000 runs and 100,000 audit
 * entries; these queries page on indexed keys (rowid, seq) and are read-only (a second
 * connection with `query_only`, so a bug here cannot write). Writes always go through the
 * governance functions, which audit them.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { DATABASE_FILE } from '../governance/governance.js';
import type { AuditEntry, Json } from '../governance/index.js';

export interface RunRow {
  digest: string;
  name: string;
  createdAt: string;
  meta: Record<string, Json>;
  plan: string | null;
  dataset: string | null;
  model: string | null;
  modelName: string | null;
}

export interface RunFilter {
  plan?: string;
  tag?: string;
  /** YYYY-MM-DD, inclusive. */
  from?: string;
  to?: string;
}

export interface Paged<T> {
  rows: T[];
  total: number;
}

export interface AuditQuery {
  /** Entries with seq below this (the next page of a newest-first list). */
  before?: number;
  action?: string;
  /** Case-insensitive text in the subject, actor or details. */
  q?: string;
  limit: number;
}

interface RawRun {
  digest: string;
  name: string;
  created_at: string;
  meta: string;
  plan: string | null;
  dataset: string | null;
  model: string | null;
  model_name: string | null;
}

const PARENT = (kind: string, column: string): string =>
  `(SELECT p.${column} FROM lineage l JOIN artifacts p ON p.digest = l.parent WHERE l.child = a.digest AND p.kind = '${kind}' LIMIT 1)`;

export class ReadModel {
  readonly db: Database.Database;

  constructor(dir: string) {
    this.db = new Database(join(dir, DATABASE_FILE), { fileMustExist: true });
    this.db.pragma('query_only = ON');
    this.db.pragma('busy_timeout = 5000');
  }

  close(): void {
    this.db.close();
  }

  private runWhere(filter: RunFilter): { sql: string; args: unknown[] } {
    const where = ["a.kind = 'evaluation'"];
    const args: unknown[] = [];
    if (filter.plan) {
      where.push(
        "EXISTS (SELECT 1 FROM lineage l JOIN artifacts p ON p.digest = l.parent WHERE l.child = a.digest AND p.kind = 'plan' AND p.name = ?)",
      );
      args.push(filter.plan);
    }
    if (filter.tag) {
      where.push(
        "(a.digest IN (SELECT digest FROM tags WHERE tag = ?) OR json_extract(a.meta, '$.model') IN (SELECT digest FROM tags WHERE tag = ?))",
      );
      args.push(filter.tag, filter.tag);
    }
    if (filter.from) {
      where.push('a.created_at >= ?');
      args.push(filter.from);
    }
    if (filter.to) {
      // Inclusive of the whole day: every ISO time on that day sorts below `day` + 'U'.
      where.push('a.created_at < ?');
      args.push(`${filter.to}U`);
    }
    return { sql: where.join(' AND '), args };
  }

  /** Evaluation records newest first, with their plan, dataset and model from lineage. */
  runs(filter: RunFilter, offset: number, limit: number): Paged<RunRow> {
    const { sql, args } = this.runWhere(filter);
    const rows = this.db
      .prepare(
        `SELECT a.digest, a.name, a.created_at, a.meta, ${PARENT('plan', 'name')} AS plan, ${PARENT('dataset', 'name')} AS dataset,
          ${PARENT('model', 'digest')} AS model, ${PARENT('model', 'name')} AS model_name
         FROM artifacts a WHERE ${sql} ORDER BY a.rowid DESC LIMIT ? OFFSET ?`,
      )
      .all(...args, limit, offset) as RawRun[];
    const total = (this.db.prepare(`SELECT COUNT(*) AS n FROM artifacts a WHERE ${sql}`).get(...args) as { n: number }).n;
    return { rows: rows.map(toRun), total };
  }

  /** Plan names for the filter menu. */
  planNames(): string[] {
    return (
      this.db.prepare("SELECT DISTINCT name FROM artifacts WHERE kind = 'plan' ORDER BY name LIMIT 500").all() as Array<{ name: string }>
    ).map((r) => r.name);
  }

  /** The newest evaluation of each of `models` (digest → evaluation row). */
  latestEvaluationOf(model: string): RunRow | undefined {
    const row = this.db
      .prepare(
        `SELECT a.digest, a.name, a.created_at, a.meta, ${PARENT('plan', 'name')} AS plan, ${PARENT('dataset', 'name')} AS dataset,
          ${PARENT('model', 'digest')} AS model, ${PARENT('model', 'name')} AS model_name
         FROM lineage l JOIN artifacts a ON a.digest = l.child WHERE l.parent = ? AND a.kind = 'evaluation' ORDER BY a.rowid DESC LIMIT 1`,
      )
      .get(model) as RawRun | undefined;
    return row ? toRun(row) : undefined;
  }

  /** The newest child of `parent` of one kind (e.g. the report registered from an evaluation). */
  childOfKind(parent: string, kind: string): string | undefined {
    return (
      this.db
        .prepare(
          'SELECT a.digest FROM lineage l JOIN artifacts a ON a.digest = l.child WHERE l.parent = ? AND a.kind = ? ORDER BY a.rowid DESC LIMIT 1',
        )
        .get(parent, kind) as { digest: string } | undefined
    )?.digest;
  }

  /** Captured items (review queue rows) imported from evaluation `digest`, newest first. */
  capturesOfEvaluation(digest: string, limit: number): string[] {
    const exists = this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'captures'").get();
    if (!exists) return [];
    return (
      this.db
        .prepare("SELECT id FROM captures WHERE source = 'evaluation' AND json_extract(note, '$.evaluation') = ? ORDER BY seq DESC LIMIT ?")
        .all(digest, limit) as Array<{ id: string }>
    ).map((r) => r.id);
  }

  /** Model artifacts newest first. */
  models(offset: number, limit: number): Paged<{ digest: string; name: string; createdAt: string }> {
    const rows = this.db
      .prepare("SELECT digest, name, created_at FROM artifacts WHERE kind = 'model' ORDER BY rowid DESC LIMIT ? OFFSET ?")
      .all(limit, offset) as Array<{ digest: string; name: string; created_at: string }>;
    const total = (this.db.prepare("SELECT COUNT(*) AS n FROM artifacts WHERE kind = 'model'").get() as { n: number }).n;
    return { rows: rows.map((r) => ({ digest: r.digest, name: r.name, createdAt: r.created_at })), total };
  }

  /** One page of the audit log, newest first; `more` when older entries match too. */
  audit(query: AuditQuery): { rows: AuditEntry[]; more: boolean; newest: number } {
    const where: string[] = [];
    const args: unknown[] = [];
    if (query.before !== undefined) {
      where.push('seq < ?');
      args.push(query.before);
    }
    if (query.action) {
      where.push('action = ?');
      args.push(query.action);
    }
    if (query.q) {
      where.push("instr(lower(subject || ' ' || actor || ' ' || details), lower(?)) > 0");
      args.push(query.q);
    }
    const rows = this.db
      .prepare(`SELECT * FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ?`)
      .all(...args, query.limit + 1) as Array<Record<string, unknown>>;
    const newest = (this.db.prepare('SELECT MAX(seq) AS s FROM audit_log').get() as { s: number | null }).s ?? 0;
    return {
      rows: rows.slice(0, query.limit).map(toEntry),
      more: rows.length > query.limit,
      newest,
    };
  }

  /** The newest audit entries whose action starts with `prefix` (e.g. `rollout.`), newest first. */
  auditByPrefix(prefix: string, limit: number): AuditEntry[] {
    const rows = this.db
      .prepare('SELECT * FROM audit_log WHERE substr(action, 1, ?) = ? ORDER BY seq DESC LIMIT ?')
      .all(prefix.length, prefix, limit) as Array<Record<string, unknown>>;
    return rows.map(toEntry);
  }

  /** The stored value of a meta key (the audit head, the signed head). */
  meta(key: string): string | undefined {
    return (this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value;
  }
}

function toEntry(r: Record<string, unknown>): AuditEntry {
  return {
    seq: r.seq as number,
    at: r.at as string,
    actor: r.actor as string,
    action: r.action as string,
    subject: r.subject as string,
    details: JSON.parse(r.details as string) as Record<string, Json>,
    prevHash: r.prev_hash as string,
    hash: r.hash as string,
  };
}

function toRun(r: RawRun): RunRow {
  return {
    digest: r.digest,
    name: r.name,
    createdAt: r.created_at,
    meta: JSON.parse(r.meta) as Record<string, Json>,
    plan: r.plan,
    dataset: r.dataset,
    model: r.model,
    modelName: r.model_name,
  };
}

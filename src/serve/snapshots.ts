/**
 * The server's metrics as a time series in the registry, so the console shows history that
 * survives restarts: every N seconds one row with the live model, the anomaly rate, the
 * canary's robust accuracy, PSI per drift signal, and the running totals of denials per
 * layer, rollbacks and requests. The table lives in the registry's database (`rampart.db`,
 * WAL, so the console reads while the server writes); rows past `maxRows` are pruned.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import type { ServeMetrics } from './metrics.js';

export interface MetricsSnapshot {
  at: string;
  model: string | null;
  anomalyRate: number | null;
  canaryAccuracy: number | null;
  /** PSI per monitored signal. */
  drift: Record<string, number>;
  /** Running total of deny decisions per layer since the server started. */
  denials: Record<string, number>;
  rollbacks: number;
  requests: number;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS serve_snapshots (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, data TEXT NOT NULL);
  CREATE INDEX IF NOT EXISTS serve_snapshots_at ON serve_snapshots (at);
`;

/** Reads and writes the snapshot table of one registry directory. */
export class SnapshotStore {
  private readonly db: Database.Database;

  /** @throws SqliteError when the registry database cannot be opened (the caller names the directory). */
  constructor(
    dir: string,
    private readonly maxRows = 100_000,
  ) {
    this.db = new Database(join(dir, 'rampart.db'));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
  }

  write(snapshot: MetricsSnapshot): void {
    const { lastInsertRowid } = this.db
      .prepare('INSERT INTO serve_snapshots (at, data) VALUES (?, ?)')
      .run(snapshot.at, JSON.stringify(snapshot));
    const id = Number(lastInsertRowid);
    if (id % 1000 === 0) this.db.prepare('DELETE FROM serve_snapshots WHERE id <= ?').run(id - this.maxRows);
  }

  /** Snapshots at or after `since` (ISO), oldest first, at most `limit` (the newest ones). */
  list(options: { since?: string; limit?: number } = {}): MetricsSnapshot[] {
    const rows = this.db
      .prepare('SELECT data FROM serve_snapshots WHERE at >= ? ORDER BY id DESC LIMIT ?')
      .all(options.since ?? '', Math.min(options.limit ?? 2000, 20_000)) as Array<{ data: string }>;
    return rows.reverse().map((r) => JSON.parse(r.data) as MetricsSnapshot);
  }

  close(): void {
    this.db.close();
  }
}

/** One snapshot of the server's metrics now. */
export async function collectSnapshot(metrics: ServeMetrics, model: string | null, at = new Date()): Promise<MetricsSnapshot> {
  const [anomaly, canary, drift, decisions, rollbacks, requests] = await Promise.all([
    metrics.anomalyRate.get(),
    metrics.canaryAccuracy.get(),
    metrics.drift.get(),
    metrics.decisions.get(),
    metrics.rollbacks.get(),
    metrics.requests.get(),
  ]);
  const denials: Record<string, number> = {};
  for (const v of decisions.values) {
    if (v.labels.decision !== 'deny') continue;
    const layer = String(v.labels.layer);
    denials[layer] = (denials[layer] ?? 0) + v.value;
  }
  const sum = (values: Array<{ value: number }>): number => values.reduce((s, v) => s + v.value, 0);
  return {
    at: at.toISOString(),
    model,
    anomalyRate: anomaly.values[0]?.value ?? null,
    canaryAccuracy: canary.values[0]?.value ?? null,
    drift: Object.fromEntries(drift.values.map((v) => [String(v.labels.signal), v.value])),
    denials,
    rollbacks: sum(rollbacks.values),
    requests: sum(requests.values),
  };
}

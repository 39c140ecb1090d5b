/**
 * The registry's SQL: prepared statements over `artifacts`, `manifest_files`, `lineage`,
 * `tags` and `tag_events`, and the mapping of rows to the public types. Nothing here
 * decides anything; `registry.ts` and `registry-tags.ts` do.
 */
import type { GovernanceContext } from './context.js';
import type { Artifact, ArtifactKind, Json, LineageNode, ManifestEntry, TagAction, TagEvent } from './types.js';

export interface ArtifactRow {
  digest: string;
  kind: string;
  name: string;
  storage: 'blob' | 'manifest';
  size: number;
  media_type: string;
  meta: string;
  created_at: string;
  actor: string;
}

export interface TagEventRow {
  id: number;
  tag: string;
  digest: string;
  previous_digest: string | null;
  action: TagAction;
  reason: string | null;
  actor: string;
  at: string;
}

/** Typed access to the registry's tables. */
export interface RegistryStore {
  row(digest: string): ArtifactRow | undefined;
  byPrefix(hex: string): ArtifactRow[];
  insert(row: ArtifactRow): void;
  insertFile(digest: string, file: ManifestEntry): void;
  files(digest: string): ManifestEntry[];
  insertEdge(child: string, parent: string): void;
  parents(digest: string): string[];
  tagOf(tag: string): string | undefined;
  tags(): Record<string, string>;
  upsertTag(tag: string, digest: string, at: string): void;
  insertEvent(event: Omit<TagEventRow, 'id'>): TagEvent;
  events(tag?: string): TagEvent[];
  ancestors(digest: string, depth: number): LineageNode[];
  descendants(digest: string, depth: number): LineageNode[];
  list(where: string[], args: unknown[]): ArtifactRow[];
  all(): Array<{ digest: string; storage: string }>;
  toArtifact(row: ArtifactRow): Artifact;
}

/** Prepares the registry's statements on the governance database. */
export function createRegistryStore(ctx: GovernanceContext): RegistryStore {
  const { db } = ctx;
  const q = {
    byDigest: db.prepare('SELECT * FROM artifacts WHERE digest = ?'),
    byPrefix: db.prepare("SELECT * FROM artifacts WHERE digest GLOB ? || '*' ORDER BY digest LIMIT 5"),
    insert: db.prepare(
      'INSERT INTO artifacts (digest, kind, name, storage, size, media_type, meta, created_at, actor) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    insertFile: db.prepare('INSERT INTO manifest_files (digest, path, file_digest, size) VALUES (?, ?, ?, ?)'),
    files: db.prepare('SELECT path, file_digest AS digest, size FROM manifest_files WHERE digest = ? ORDER BY path'),
    insertEdge: db.prepare('INSERT OR IGNORE INTO lineage (child, parent) VALUES (?, ?)'),
    parents: db.prepare('SELECT parent FROM lineage WHERE child = ? ORDER BY parent'),
    tagOf: db.prepare('SELECT digest FROM tags WHERE tag = ?'),
    allTags: db.prepare('SELECT tag, digest FROM tags ORDER BY tag'),
    upsertTag: db.prepare(
      'INSERT INTO tags (tag, digest, updated_at) VALUES (?, ?, ?) ON CONFLICT (tag) DO UPDATE SET digest = excluded.digest, updated_at = excluded.updated_at',
    ),
    insertEvent: db.prepare(
      'INSERT INTO tag_events (tag, digest, previous_digest, action, reason, actor, at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
    eventsOf: db.prepare('SELECT * FROM tag_events WHERE tag = ? ORDER BY id'),
    allEvents: db.prepare('SELECT * FROM tag_events ORDER BY id'),
    eventById: db.prepare('SELECT * FROM tag_events WHERE id = ?'),
    all: db.prepare('SELECT digest, storage FROM artifacts ORDER BY rowid'),
    ancestors: db.prepare(`
      WITH RECURSIVE up (digest, depth) AS (
        SELECT parent, 1 FROM lineage WHERE child = ?
        UNION SELECT l.parent, up.depth + 1 FROM lineage l JOIN up ON l.child = up.digest WHERE up.depth < ?
      ) SELECT a.digest, a.kind, a.name, MIN(up.depth) AS depth FROM up JOIN artifacts a ON a.digest = up.digest
        GROUP BY a.digest ORDER BY depth, a.created_at, a.digest`),
    descendants: db.prepare(`
      WITH RECURSIVE down (digest, depth) AS (
        SELECT child, 1 FROM lineage WHERE parent = ?
        UNION SELECT l.child, down.depth + 1 FROM lineage l JOIN down ON l.parent = down.digest WHERE down.depth < ?
      ) SELECT a.digest, a.kind, a.name, MIN(down.depth) AS depth FROM down JOIN artifacts a ON a.digest = down.digest
        GROUP BY a.digest ORDER BY depth, a.created_at, a.digest`),
  };

  const parents = (digest: string): string[] => (q.parents.all(digest) as Array<{ parent: string }>).map((p) => p.parent);
  const toEvent = (r: TagEventRow): TagEvent => ({
    id: r.id,
    tag: r.tag,
    digest: r.digest,
    previousDigest: r.previous_digest,
    action: r.action,
    reason: r.reason,
    actor: r.actor,
    at: r.at,
  });
  const toNode = (n: LineageNode): LineageNode => ({ digest: n.digest, kind: n.kind, name: n.name, depth: n.depth });

  return {
    row: (digest) => q.byDigest.get(digest) as ArtifactRow | undefined,
    byPrefix: (hex) => q.byPrefix.all(hex) as ArtifactRow[],
    insert: (r) => void q.insert.run(r.digest, r.kind, r.name, r.storage, r.size, r.media_type, r.meta, r.created_at, r.actor),
    insertFile: (digest, f) => void q.insertFile.run(digest, f.path, f.digest, f.size),
    files: (digest) => q.files.all(digest) as ManifestEntry[],
    insertEdge: (child, parent) => void q.insertEdge.run(child, parent),
    parents,
    tagOf: (tag) => (q.tagOf.get(tag) as { digest: string } | undefined)?.digest,
    tags: () => Object.fromEntries((q.allTags.all() as Array<{ tag: string; digest: string }>).map((r) => [r.tag, r.digest])),
    upsertTag: (tag, digest, at) => void q.upsertTag.run(tag, digest, at),
    insertEvent(e) {
      const info = q.insertEvent.run(e.tag, e.digest, e.previous_digest, e.action, e.reason, e.actor, e.at);
      return toEvent(q.eventById.get(info.lastInsertRowid) as TagEventRow);
    },
    events: (tag) => ((tag === undefined ? q.allEvents.all() : q.eventsOf.all(tag)) as TagEventRow[]).map(toEvent),
    ancestors: (digest, depth) => (q.ancestors.all(digest, depth) as LineageNode[]).map(toNode),
    descendants: (digest, depth) => (q.descendants.all(digest, depth) as LineageNode[]).map(toNode),
    list(where, args) {
      const sql = `SELECT a.* FROM artifacts a ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY a.rowid`;
      return db.prepare(sql).all(...args) as ArtifactRow[];
    },
    all: () => q.all.all() as Array<{ digest: string; storage: string }>,
    toArtifact: (r) => ({
      digest: r.digest,
      kind: r.kind as ArtifactKind,
      name: r.name,
      storage: r.storage,
      size: r.size,
      mediaType: r.media_type,
      meta: JSON.parse(r.meta) as Record<string, Json>,
      parents: parents(r.digest),
      createdAt: r.created_at,
      actor: r.actor,
    }),
  };
}

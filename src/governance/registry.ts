/**
 * The artifact registry: immutable, content-addressed artifacts with lineage and tags.
 * Blobs go to the object store first (atomic, idempotent); the row, its lineage edges and
 * the audit entry then commit in one transaction, so a crash leaves at worst an orphan
 * blob, never a row without its bytes.
 */
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, extname, isAbsolute, join, relative, sep } from 'node:path';
import { writeFileAtomicSync } from './atomic.js';
import { RegistryError, listChoices } from '../core/errors.js';
import { canonicalJson, sha256Hex } from './canonical-json.js';
import type { GovernanceContext } from './context.js';
import type { AuditLog } from './types.js';
import {
  ARTIFACT_KINDS,
  type Artifact,
  type ArtifactCheck,
  type ArtifactDiff,
  type ArtifactKind,
  type Json,
  type Lineage,
  type LineageNode,
  type ListFilter,
  type ManifestEntry,
  type PutInput,
  type PutResult,
  type Registry,
  type TagAction,
  type TagEvent,
  type ValueChange,
} from './types.js';

interface ArtifactRow {
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

interface TagEventRow {
  id: number;
  tag: string;
  digest: string;
  previous_digest: string | null;
  action: TagAction;
  reason: string | null;
  actor: string;
  at: string;
}

let materializeCounter = 0;

const TAG_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const MAX_CONTENT_CHANGES = 500;
/** JSON content larger than this is not flattened for diffs. */
const MAX_DIFF_BYTES = 8 * 1024 * 1024;

interface Prepared {
  bytes?: Buffer;
  files?: Array<ManifestEntry & { bytes: Buffer }>;
  storage: 'blob' | 'manifest';
  mediaType: string;
}

function mediaTypeFor(path: string): string {
  switch (extname(path).toLowerCase()) {
    case '.json':
      return 'application/json';
    case '.md':
      return 'text/markdown';
    case '.yaml':
    case '.yml':
      return 'application/yaml';
    case '.html':
      return 'text/html';
    case '.xml':
      return 'application/xml';
    case '.txt':
    case '.csv':
    case '.jsonl':
      return 'text/plain';
    default:
      return 'application/octet-stream';
  }
}

function walkFiles(root: string): string[] {
  const out: string[] = [];
  const visit = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) visit(full);
      else if (entry.isFile()) out.push(full);
      else throw new RegistryError('E_REGISTRY_INPUT', `Cannot store ${full}: only regular files and folders go into a directory artifact (no symlinks or devices).`, { details: { path: full } });
    }
  };
  visit(root);
  return out;
}

function prepareContent(input: PutInput): Prepared {
  const given = (['path', 'json', 'bytes'] as const).filter((k) => input[k] !== undefined);
  if (given.length !== 1) {
    throw new RegistryError('E_REGISTRY_INPUT', `registry.put needs exactly one of 'path', 'json' or 'bytes' for '${input.name}'; got ${given.length === 0 ? 'none' : given.map((g) => `'${g}'`).join(' and ')}.`, {
      details: { name: input.name, given },
    });
  }
  if (input.json !== undefined) return { bytes: Buffer.from(canonicalJson(input.json)), storage: 'blob', mediaType: input.mediaType ?? 'application/json' };
  if (input.bytes !== undefined) {
    const text = typeof input.bytes === 'string';
    return { bytes: Buffer.from(input.bytes as string | Uint8Array), storage: 'blob', mediaType: input.mediaType ?? (text ? 'text/plain' : 'application/octet-stream') };
  }
  const path = input.path as string;
  let stat;
  try {
    stat = lstatSync(path);
  } catch (error) {
    throw new RegistryError('E_REGISTRY_INPUT', `Cannot store '${path}' as ${input.kind} '${input.name}': no such file or directory.`, { cause: error, details: { path } });
  }
  if (stat.isFile()) return { bytes: readFileSync(path), storage: 'blob', mediaType: input.mediaType ?? mediaTypeFor(path) };
  if (!stat.isDirectory()) throw new RegistryError('E_REGISTRY_INPUT', `Cannot store '${path}': it is neither a regular file nor a directory.`, { details: { path } });
  const files = walkFiles(path).map((full) => {
    const bytes = readFileSync(full);
    return { path: relative(path, full).split(sep).join('/'), digest: sha256Hex(bytes), size: bytes.byteLength, bytes };
  });
  if (files.length === 0) throw new RegistryError('E_REGISTRY_INPUT', `Cannot store the empty directory '${path}' as ${input.kind} '${input.name}'.`, { details: { path } });
  return { files, storage: 'manifest', mediaType: input.mediaType ?? 'inode/directory' };
}

function manifestBytes(files: readonly ManifestEntry[]): Buffer {
  return Buffer.from(canonicalJson({ files: files.map((f) => ({ path: f.path, digest: f.digest, size: f.size })) }));
}

function objectOf(value: unknown, what: string): Record<string, Json> {
  const parsed = JSON.parse(canonicalJson(value ?? {})) as unknown;
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new RegistryError('E_REGISTRY_INPUT', `${what} must be a JSON object; got ${Array.isArray(parsed) ? 'an array' : typeof parsed}.`);
  }
  return parsed as Record<string, Json>;
}

/** Flattens JSON to dotted leaf paths so two values can be compared key by key. */
function flatten(value: Json | undefined, prefix: string, out: Map<string, Json>): void {
  if (value !== null && typeof value === 'object') {
    const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
    if (entries.length === 0) out.set(prefix, value);
    for (const [k, v] of entries) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (value !== undefined) {
    out.set(prefix, value);
  }
}

function compare(a: Json | undefined, b: Json | undefined): { changes: ValueChange[]; truncated: boolean } {
  const fa = new Map<string, Json>();
  const fb = new Map<string, Json>();
  flatten(a, '', fa);
  flatten(b, '', fb);
  const keys = [...new Set([...fa.keys(), ...fb.keys()])].sort();
  const changes: ValueChange[] = [];
  let truncated = false;
  for (const path of keys) {
    const va = fa.get(path);
    const vb = fb.get(path);
    if (canonicalJson(va ?? null) === canonicalJson(vb ?? null) && fa.has(path) === fb.has(path)) continue;
    if (changes.length >= MAX_CONTENT_CHANGES) {
      truncated = true;
      break;
    }
    const change: ValueChange = { path, a: va, b: vb };
    // Rounded so 0.9 - 0.3 reads 0.6, not 0.6000000000000001.
    if (typeof va === 'number' && typeof vb === 'number') change.delta = Math.round((vb - va) * 1e12) / 1e12;
    changes.push(change);
  }
  return { changes, truncated };
}

export function createRegistry(ctx: GovernanceContext, audit: AuditLog): Registry {
  const { db, objects } = ctx;
  const q = {
    byDigest: db.prepare('SELECT * FROM artifacts WHERE digest = ?'),
    byPrefix: db.prepare("SELECT * FROM artifacts WHERE digest GLOB ? || '*' ORDER BY digest LIMIT 5"),
    insert: db.prepare('INSERT INTO artifacts (digest, kind, name, storage, size, media_type, meta, created_at, actor) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)'),
    insertFile: db.prepare('INSERT INTO manifest_files (digest, path, file_digest, size) VALUES (?, ?, ?, ?)'),
    files: db.prepare('SELECT path, file_digest AS digest, size FROM manifest_files WHERE digest = ? ORDER BY path'),
    insertEdge: db.prepare('INSERT OR IGNORE INTO lineage (child, parent) VALUES (?, ?)'),
    parents: db.prepare('SELECT parent FROM lineage WHERE child = ? ORDER BY parent'),
    tagOf: db.prepare('SELECT digest FROM tags WHERE tag = ?'),
    allTags: db.prepare('SELECT tag, digest FROM tags ORDER BY tag'),
    upsertTag: db.prepare('INSERT INTO tags (tag, digest, updated_at) VALUES (?, ?, ?) ON CONFLICT (tag) DO UPDATE SET digest = excluded.digest, updated_at = excluded.updated_at'),
    insertEvent: db.prepare('INSERT INTO tag_events (tag, digest, previous_digest, action, reason, actor, at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    eventsOf: db.prepare('SELECT * FROM tag_events WHERE tag = ? ORDER BY id'),
    allEvents: db.prepare('SELECT * FROM tag_events ORDER BY id'),
    eventById: db.prepare('SELECT * FROM tag_events WHERE id = ?'),
    ancestors: db.prepare(`
      WITH RECURSIVE up (digest, depth) AS (
        SELECT parent, 1 FROM lineage WHERE child = ?
        UNION SELECT l.parent, up.depth + 1 FROM lineage l JOIN up ON l.child = up.digest WHERE up.depth < ?
      ) SELECT a.digest, a.kind, a.name, MIN(up.depth) AS depth FROM up JOIN artifacts a ON a.digest = up.digest GROUP BY a.digest ORDER BY depth, a.created_at, a.digest`),
    descendants: db.prepare(`
      WITH RECURSIVE down (digest, depth) AS (
        SELECT child, 1 FROM lineage WHERE parent = ?
        UNION SELECT l.child, down.depth + 1 FROM lineage l JOIN down ON l.parent = down.digest WHERE down.depth < ?
      ) SELECT a.digest, a.kind, a.name, MIN(down.depth) AS depth FROM down JOIN artifacts a ON a.digest = down.digest GROUP BY a.digest ORDER BY depth, a.created_at, a.digest`),
  };

  const toArtifact = (r: ArtifactRow): Artifact => ({
    digest: r.digest,
    kind: r.kind as ArtifactKind,
    name: r.name,
    storage: r.storage,
    size: r.size,
    mediaType: r.media_type,
    meta: JSON.parse(r.meta) as Record<string, Json>,
    parents: (q.parents.all(r.digest) as Array<{ parent: string }>).map((p) => p.parent),
    createdAt: r.created_at,
    actor: r.actor,
  });

  const toEvent = (r: TagEventRow): TagEvent => ({ id: r.id, tag: r.tag, digest: r.digest, previousDigest: r.previous_digest, action: r.action, reason: r.reason, actor: r.actor, at: r.at });

  function find(ref: string): Artifact | undefined {
    if (typeof ref !== 'string' || ref.trim() === '') {
      throw new RegistryError('E_REGISTRY_BAD_REF', `An artifact reference must be a digest, a digest prefix (at least 4 hex characters) or 'tag:NAME'; got ${JSON.stringify(ref)}.`);
    }
    const trimmed = ref.trim();
    if (trimmed.startsWith('tag:')) {
      const digest = resolveTag(trimmed.slice(4));
      return digest === undefined ? undefined : toArtifact(q.byDigest.get(digest) as ArtifactRow);
    }
    const hex = trimmed.replace(/^sha256:/i, '').toLowerCase();
    if (!/^[0-9a-f]{4,64}$/.test(hex)) {
      // A bare word that names a tag is the friendliest reading of e.g. `show production`.
      const digest = resolveTag(trimmed);
      if (digest !== undefined) return toArtifact(q.byDigest.get(digest) as ArtifactRow);
      throw new RegistryError('E_REGISTRY_BAD_REF', `'${ref}' is neither a digest prefix (4–64 hex characters) nor a tag; tags: ${listChoices(Object.keys(tags())) || 'none yet'}.`, {
        details: { ref },
      });
    }
    if (hex.length === 64) {
      const row = q.byDigest.get(hex) as ArtifactRow | undefined;
      return row ? toArtifact(row) : undefined;
    }
    const rows = q.byPrefix.all(hex) as ArtifactRow[];
    if (rows.length > 1) {
      throw new RegistryError('E_REGISTRY_AMBIGUOUS', `Digest prefix '${hex}' matches ${rows.length >= 5 ? '5 or more' : rows.length} artifacts (${rows.map((r) => `${r.digest.slice(0, 12)} ${r.kind} ${r.name}`).join('; ')}); give more characters.`, {
        details: { ref, matches: rows.map((r) => r.digest) },
      });
    }
    return rows[0] ? toArtifact(rows[0]) : undefined;
  }

  function get(ref: string): Artifact {
    const found = find(ref);
    if (found) return found;
    throw new RegistryError('E_REGISTRY_NOT_FOUND', `No artifact matches '${ref}' in ${ctx.dir}; list them with 'rampart registry ls --dir ${ctx.dir}'.`, { details: { ref, dir: ctx.dir } });
  }

  function resolveTag(tag: string): string | undefined {
    return (q.tagOf.get(tag) as { digest: string } | undefined)?.digest;
  }

  function tags(): Record<string, string> {
    return Object.fromEntries((q.allTags.all() as Array<{ tag: string; digest: string }>).map((r) => [r.tag, r.digest]));
  }

  /** The tag's deployment stack: promotions push, rollbacks pop; `previous` is one below the top. */
  function stackOf(tag: string): string[] {
    const stack: string[] = [];
    for (const e of q.eventsOf.all(tag) as TagEventRow[]) {
      if (e.action === 'rollback') stack.pop();
      if (stack[stack.length - 1] !== e.digest) stack.push(e.digest);
    }
    return stack;
  }

  function ancestorsOf(digest: string, depth: number): LineageNode[] {
    return (q.ancestors.all(digest, depth) as LineageNode[]).map((n) => ({ digest: n.digest, kind: n.kind, name: n.name, depth: n.depth }));
  }

  function descendantsOf(digest: string, depth: number): LineageNode[] {
    return (q.descendants.all(digest, depth) as LineageNode[]).map((n) => ({ digest: n.digest, kind: n.kind, name: n.name, depth: n.depth }));
  }

  function checkTagName(tag: string): void {
    if (typeof tag !== 'string' || !TAG_PATTERN.test(tag) || /^[0-9a-f]+$/i.test(tag)) {
      throw new RegistryError('E_REGISTRY_BAD_TAG', `Tag ${JSON.stringify(tag)} is not valid: use 1–64 letters, digits, '.', '_' or '-', starting with a letter or digit and not only hex digits (so it cannot be read as a digest), e.g. 'production' or 'candidate'.`, {
        details: { tag },
      });
    }
  }

  function moveTag(tag: string, digest: string, action: TagAction, reason: string | undefined): TagEvent {
    return ctx.tx(() => {
      const previous = resolveTag(tag) ?? null;
      const at = ctx.now();
      const info = q.insertEvent.run(tag, digest, previous, action, reason ?? null, ctx.actor, at);
      q.upsertTag.run(tag, digest, at);
      const target = q.byDigest.get(digest) as ArtifactRow;
      audit.append({ action, subject: tag, details: { tag, digest, previous, kind: target.kind, name: target.name, reason: reason ?? null } });
      return toEvent(q.eventById.get(info.lastInsertRowid) as TagEventRow);
    });
  }

  function requireReason(reason: unknown, what: string): string {
    if (typeof reason !== 'string' || reason.trim() === '') {
      throw new RegistryError('E_REGISTRY_REASON', `A ${what} needs a reason (it goes into the audit log), e.g. { reason: 'gate passed on plan v3' } or --reason.`);
    }
    return reason.trim();
  }

  function blobOf(ref: string): { artifact: Artifact; bytes: Buffer } {
    const artifact = get(ref);
    if (artifact.storage !== 'blob') {
      throw new RegistryError('E_REGISTRY_NOT_BLOB', `${artifact.kind} '${artifact.name}' (${artifact.digest.slice(0, 12)}) is a directory; use manifest() or materialize() instead of read().`, {
        details: { digest: artifact.digest },
      });
    }
    return { artifact, bytes: objects.read(artifact.digest) };
  }

  function jsonContent(a: Artifact): Json | undefined {
    if (a.storage !== 'blob' || a.mediaType !== 'application/json' || a.size > MAX_DIFF_BYTES) return undefined;
    return JSON.parse(objects.read(a.digest).toString('utf8')) as Json;
  }

  const registry: Registry = {
    put(input: PutInput): PutResult {
      if (!input || !ARTIFACT_KINDS.includes(input.kind)) {
        throw new RegistryError('E_REGISTRY_INPUT', `Artifact kind must be ${listChoices(ARTIFACT_KINDS)}; got ${JSON.stringify(input?.kind)}.`, { details: { kind: input?.kind } });
      }
      if (typeof input.name !== 'string' || input.name.trim() === '') {
        throw new RegistryError('E_REGISTRY_INPUT', `A ${input.kind} artifact needs a non-empty name; got ${JSON.stringify(input.name)}.`);
      }
      const meta = objectOf(input.meta, `The meta of ${input.kind} '${input.name}'`);
      const content = prepareContent(input);
      const parents = [...new Set((input.parents ?? []).map((p) => get(p).digest))];
      let digest: string;
      let size: number;
      if (content.storage === 'blob') {
        const bytes = content.bytes as Buffer;
        digest = objects.write(bytes);
        size = bytes.byteLength;
      } else {
        const files = content.files as Array<ManifestEntry & { bytes: Buffer }>;
        for (const f of files) objects.write(f.bytes);
        digest = objects.write(manifestBytes(files));
        size = files.reduce((s, f) => s + f.size, 0);
      }
      return ctx.tx(() => {
        const existing = q.byDigest.get(digest) as ArtifactRow | undefined;
        if (existing && existing.kind !== input.kind) {
          throw new RegistryError('E_REGISTRY_KIND_CONFLICT', `This content is already registered as ${existing.kind} '${existing.name}' (${digest.slice(0, 12)}); it cannot also be a ${input.kind}.`, {
            details: { digest, kind: existing.kind, wanted: input.kind },
          });
        }
        for (const p of parents) {
          if (p === digest) throw new RegistryError('E_REGISTRY_CYCLE', `${input.kind} '${input.name}' (${digest.slice(0, 12)}) cannot be its own parent.`, { details: { digest } });
        }
        if (existing) {
          const known = new Set((q.parents.all(digest) as Array<{ parent: string }>).map((r) => r.parent));
          const added = parents.filter((p) => !known.has(p));
          if (added.length > 0) {
            const below = new Set(descendantsOf(digest, 1_000_000).map((n) => n.digest));
            const cyclic = added.find((p) => below.has(p));
            if (cyclic) throw new RegistryError('E_REGISTRY_CYCLE', `Adding ${cyclic.slice(0, 12)} as a parent of ${digest.slice(0, 12)} would make a lineage cycle: it already descends from it.`, { details: { digest, parent: cyclic } });
            for (const p of added) q.insertEdge.run(digest, p);
            audit.append({ action: 'lineage', subject: digest, details: { kind: existing.kind, name: existing.name, addedParents: added } });
          }
          return { ...toArtifact(existing), existed: true };
        }
        const createdAt = ctx.now();
        q.insert.run(digest, input.kind, input.name.trim(), content.storage, size, content.mediaType, canonicalJson(meta), createdAt, ctx.actor);
        for (const f of content.files ?? []) q.insertFile.run(digest, f.path, f.digest, f.size);
        for (const p of parents) q.insertEdge.run(digest, p);
        audit.append({ action: 'register', subject: digest, details: { kind: input.kind, name: input.name.trim(), size, storage: content.storage, parents } });
        return { ...toArtifact(q.byDigest.get(digest) as ArtifactRow), existed: false };
      });
    },

    get,
    find,

    list(filter: ListFilter = {}): Artifact[] {
      const where: string[] = [];
      const args: unknown[] = [];
      if (filter.kind !== undefined) {
        if (!ARTIFACT_KINDS.includes(filter.kind)) throw new RegistryError('E_REGISTRY_INPUT', `Artifact kind must be ${listChoices(ARTIFACT_KINDS)}; got '${filter.kind}'.`);
        where.push('a.kind = ?');
        args.push(filter.kind);
      }
      if (filter.tag !== undefined) {
        where.push('a.digest IN (SELECT digest FROM tags WHERE tag = ?)');
        args.push(filter.tag);
      }
      if (filter.name !== undefined) {
        where.push('instr(a.name, ?) > 0');
        args.push(filter.name);
      }
      const sql = `SELECT a.* FROM artifacts a ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY a.rowid`;
      return (db.prepare(sql).all(...args) as ArtifactRow[]).map(toArtifact);
    },

    read(ref: string): Buffer {
      return blobOf(ref).bytes;
    },

    readJson<T = unknown>(ref: string): T {
      const { artifact, bytes } = blobOf(ref);
      try {
        return JSON.parse(bytes.toString('utf8')) as T;
      } catch (error) {
        throw new RegistryError('E_REGISTRY_NOT_JSON', `${artifact.kind} '${artifact.name}' (${artifact.digest.slice(0, 12)}) is not JSON (${artifact.mediaType}).`, { cause: error, details: { digest: artifact.digest } });
      }
    },

    manifest(ref: string): ManifestEntry[] {
      const artifact = get(ref);
      if (artifact.storage !== 'manifest') throw new RegistryError('E_REGISTRY_NOT_DIRECTORY', `${artifact.kind} '${artifact.name}' (${artifact.digest.slice(0, 12)}) is a single blob, not a directory; use read().`, { details: { digest: artifact.digest } });
      return q.files.all(artifact.digest) as ManifestEntry[];
    },

    materialize(ref: string, out: string): string {
      const artifact = get(ref);
      if (artifact.storage === 'blob') {
        writeFileAtomicSync(out, objects.read(artifact.digest));
        return out;
      }
      // Read and check everything before writing anything, so a corrupt store writes nothing.
      const files = registry.manifest(artifact.digest).map((f) => {
        if (isAbsolute(f.path) || f.path.split('/').some((part) => part === '..' || part === '')) {
          throw new RegistryError('E_REGISTRY_CORRUPT', `Manifest of ${artifact.digest.slice(0, 12)} has an unsafe path '${f.path}'; the database was edited.`, { details: { digest: artifact.digest, path: f.path } });
        }
        return { path: f.path, bytes: objects.read(f.digest) };
      });
      if (sha256Hex(manifestBytes(registry.manifest(artifact.digest))) !== artifact.digest) {
        throw new RegistryError('E_REGISTRY_CORRUPT', `The file list of ${artifact.digest.slice(0, 12)} no longer matches its digest; the database was edited.`, { details: { digest: artifact.digest } });
      }
      // A new directory is assembled beside its final name and renamed into place, so a
      // reader that sees `out` (a serving cache, say) never sees half a model.
      const fresh = !existsSync(out);
      const target = fresh ? `${out}.tmp-${process.pid}-${++materializeCounter}` : out;
      mkdirSync(target, { recursive: true });
      try {
        for (const f of files) {
          const file = join(target, ...f.path.split('/'));
          mkdirSync(dirname(file), { recursive: true });
          writeFileAtomicSync(file, f.bytes);
        }
        if (fresh) renameSync(target, out);
      } catch (error) {
        if (fresh) rmSync(target, { recursive: true, force: true });
        throw error;
      }
      return out;
    },

    lineage(ref: string, options = {}): Lineage {
      const artifact = get(ref);
      const depth = options.depth ?? 1_000_000;
      const ancestors = ancestorsOf(artifact.digest, depth);
      const descendants = descendantsOf(artifact.digest, depth);
      const nodes = new Set([artifact.digest, ...ancestors.map((n) => n.digest), ...descendants.map((n) => n.digest)]);
      const edges: Array<{ child: string; parent: string }> = [];
      for (const d of nodes) {
        for (const p of q.parents.all(d) as Array<{ parent: string }>) if (nodes.has(p.parent)) edges.push({ child: d, parent: p.parent });
      }
      return { artifact, ancestors, descendants, edges };
    },

    tag(ref: string, tag: string, options = {}): TagEvent {
      checkTagName(tag);
      const { digest } = get(ref);
      const current = resolveTag(tag);
      if (current === digest) {
        const events = q.eventsOf.all(tag) as TagEventRow[];
        return toEvent(events[events.length - 1] as TagEventRow);
      }
      return moveTag(tag, digest, 'tag', options.reason);
    },

    promote(ref: string, tag: string, options: { reason: string }): TagEvent {
      checkTagName(tag);
      const reason = requireReason(options?.reason, 'promotion');
      const { digest } = get(ref);
      if (resolveTag(tag) === digest) {
        throw new RegistryError('E_REGISTRY_ALREADY_TAGGED', `${digest.slice(0, 12)} is already '${tag}'; nothing to promote.`, { details: { digest, tag } });
      }
      return moveTag(tag, digest, 'promote', reason);
    },

    rollback(tag: string, options: { reason: string; to?: string }): TagEvent {
      checkTagName(tag);
      const reason = requireReason(options?.reason, 'rollback');
      const current = resolveTag(tag);
      if (current === undefined) throw new RegistryError('E_REGISTRY_NOT_FOUND', `Tag '${tag}' points nowhere yet; nothing to roll back.`, { details: { tag } });
      let target: string | undefined;
      if (options.to !== undefined) {
        target = get(options.to).digest;
      } else {
        const stack = stackOf(tag);
        target = stack[stack.length - 2];
      }
      if (target === undefined || target === current) {
        throw new RegistryError('E_REGISTRY_NO_PREVIOUS', `Tag '${tag}' has no earlier target to roll back to (it only ever pointed at ${current.slice(0, 12)}); pass 'to' / --to DIGEST.`, {
          details: { tag, current },
        });
      }
      return moveTag(tag, target, 'rollback', reason);
    },

    resolveTag,

    previous(tag: string): string | undefined {
      const stack = stackOf(tag);
      return stack[stack.length - 2];
    },

    tagHistory(tag?: string): TagEvent[] {
      return ((tag === undefined ? q.allEvents.all() : q.eventsOf.all(tag)) as TagEventRow[]).map(toEvent);
    },

    tags,

    diff(aRef: string, bRef: string): ArtifactDiff {
      const a = get(aRef);
      const b = get(bRef);
      const meta = compare(a.meta, b.meta).changes;
      const content = compare(jsonContent(a), jsonContent(b));
      const files: ArtifactDiff['files'] = [];
      if (a.storage === 'manifest' || b.storage === 'manifest') {
        const fa = new Map(a.storage === 'manifest' ? registry.manifest(a.digest).map((f) => [f.path, f.digest]) : []);
        const fb = new Map(b.storage === 'manifest' ? registry.manifest(b.digest).map((f) => [f.path, f.digest]) : []);
        for (const path of [...new Set([...fa.keys(), ...fb.keys()])].sort()) {
          const da = fa.get(path) ?? null;
          const db_ = fb.get(path) ?? null;
          if (da !== db_) files.push({ path, a: da, b: db_ });
        }
      }
      return { a, b, meta, content: content.changes, files, sameContent: a.digest === b.digest, contentTruncated: content.truncated };
    },

    check(): ArtifactCheck {
      const problems: ArtifactCheck['problems'] = [];
      let count = 0;
      for (const row of db.prepare('SELECT digest, storage FROM artifacts ORDER BY rowid').all() as Array<{ digest: string; storage: string }>) {
        count += 1;
        const bad = objects.problem(row.digest);
        if (bad) problems.push({ digest: row.digest, reason: bad });
        if (row.storage === 'manifest') {
          const files = q.files.all(row.digest) as ManifestEntry[];
          if (sha256Hex(manifestBytes(files)) !== row.digest) problems.push({ digest: row.digest, reason: 'the file list in the database does not match the manifest digest' });
          for (const f of files) {
            const fileBad = objects.problem(f.digest);
            if (fileBad) problems.push({ digest: row.digest, path: f.path, reason: fileBad });
          }
        }
      }
      return { artifacts: count, problems };
    },
  };
  return registry;
}

/**
 * Registration order of an artifact (its SQLite rowid), or undefined. Timestamps can tie
 * within a millisecond; the rowid tells a re-evaluation from an older one.
 */
export function registrationOrder(ctx: GovernanceContext, digest: string): number | undefined {
  return (ctx.db.prepare('SELECT rowid AS r FROM artifacts WHERE digest = ?').get(digest) as { r: number } | undefined)?.r;
}

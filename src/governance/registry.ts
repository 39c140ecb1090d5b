/**
 * The artifact registry: immutable, content-addressed artifacts with lineage and tags.
 * Blobs go to the object store first (atomic, idempotent); the row, its lineage edges and
 * the audit entry then commit in one transaction, so a crash leaves at worst an orphan
 * blob, never a row without its bytes. SQL lives in `registry-store.ts`, content in
 * `registry-content.ts`, diffs in `registry-diff.ts`, tag moves in `registry-tags.ts`.
 */
import { isAbsolute, relative } from 'node:path';
import { RegistryError, listChoices } from '../core/errors.js';
import { canonicalJson, sha256Hex } from './canonical-json.js';
import type { GovernanceContext } from './context.js';
import { jsonObject, manifestBytes, materializeArtifact, prepareContent, storeContent } from './registry-content.js';
import { MAX_DIFF_BYTES, diffArtifacts } from './registry-diff.js';
import { createRegistryStore, type ArtifactRow, type RegistryStore } from './registry-store.js';
import { checkTagName, checkTags, compareAndSetTag, expectTagAt, requireReason, stackOf } from './registry-tags.js';
import {
  ARTIFACT_KINDS,
  type Artifact,
  type ArtifactCheck,
  type AuditLog,
  type Json,
  type ListFilter,
  type PutInput,
  type PutResult,
  type Registry,
  type TagEvent,
} from './types.js';

/**
 * Builds the registry on an open governance context.
 *
 * @example const registry = createRegistry(ctx, createAuditLog(ctx));
 */
export function createRegistry(ctx: GovernanceContext, audit: AuditLog): Registry {
  const { objects } = ctx;
  const store = createRegistryStore(ctx);
  const artifact = (digest: string): Artifact => store.toArtifact(store.row(digest) as ArtifactRow);

  function find(ref: string): Artifact | undefined {
    if (typeof ref !== 'string' || ref.trim() === '') {
      throw new RegistryError(
        'E_REGISTRY_BAD_REF',
        `An artifact reference must be a digest, a digest prefix (at least 4 hex characters) or 'tag:NAME'; got ${JSON.stringify(ref)}.`,
      );
    }
    const trimmed = ref.trim();
    if (trimmed.startsWith('tag:')) {
      const digest = store.tagOf(trimmed.slice(4));
      return digest === undefined ? undefined : artifact(digest);
    }
    const hex = trimmed.replace(/^sha256:/i, '').toLowerCase();
    if (!/^[0-9a-f]{4,64}$/.test(hex)) {
      // A bare word that names a tag is the friendliest reading of e.g. `show production`.
      const digest = store.tagOf(trimmed);
      if (digest !== undefined) return artifact(digest);
      throw new RegistryError(
        'E_REGISTRY_BAD_REF',
        `'${ref}' is neither a digest prefix (4–64 hex characters) nor a tag; tags: ${listChoices(Object.keys(store.tags())) || 'none yet'}.`,
        {
          details: { ref },
        },
      );
    }
    if (hex.length === 64) {
      const row = store.row(hex);
      return row ? store.toArtifact(row) : undefined;
    }
    const rows = store.byPrefix(hex);
    if (rows.length > 1) {
      const listed = rows.map((r) => `${r.digest.slice(0, 12)} ${r.kind} ${r.name}`).join('; ');
      throw new RegistryError(
        'E_REGISTRY_AMBIGUOUS',
        `Digest prefix '${hex}' matches ${rows.length >= 5 ? '5 or more' : rows.length} artifacts (${listed}); give more characters.`,
        {
          details: { ref, matches: rows.map((r) => r.digest) },
        },
      );
    }
    return rows[0] ? store.toArtifact(rows[0]) : undefined;
  }

  function get(ref: string): Artifact {
    const found = find(ref);
    if (found) return found;
    // This message can reach HTTP clients: name the directory only relative to the working one, never absolute.
    const rel = relative(process.cwd(), ctx.dir);
    const dir = rel === '' ? '.' : rel.startsWith('..') || isAbsolute(rel) ? undefined : rel;
    const hint =
      dir === undefined ? "list them with 'rampart registry ls --dir <registry>'" : `list them with 'rampart registry ls --dir ${dir}'`;
    throw new RegistryError(
      'E_REGISTRY_NOT_FOUND',
      `No artifact matches '${ref}' in the registry${dir === undefined ? '' : ` ${dir}`}; ${hint}.`,
      { details: { ref } },
    );
  }

  /** A compare-and-set `from`: null, or a digest/prefix (never a tag, which would read the value being compared). */
  function expected(from: string | null): string | null {
    if (from === null) return null;
    if (typeof from !== 'string' || !/^(sha256:)?[0-9a-f]{4,64}$/i.test(from.trim())) {
      throw new RegistryError(
        'E_REGISTRY_BAD_REF',
        `A tag move's 'from' must be the digest the tag was read at (or null when unset); got ${JSON.stringify(from)}.`,
      );
    }
    return get(from).digest;
  }

  function blobOf(ref: string): { artifact: Artifact; bytes: Buffer } {
    const a = get(ref);
    if (a.storage !== 'blob') {
      throw new RegistryError(
        'E_REGISTRY_NOT_BLOB',
        `${a.kind} '${a.name}' (${a.digest.slice(0, 12)}) is a directory; use manifest() or materialize() instead of read().`,
        {
          details: { digest: a.digest },
        },
      );
    }
    return { artifact: a, bytes: objects.read(a.digest) };
  }

  function jsonContent(a: Artifact): Json | undefined {
    if (a.storage !== 'blob' || a.mediaType !== 'application/json' || a.size > MAX_DIFF_BYTES) return undefined;
    return JSON.parse(objects.read(a.digest).toString('utf8')) as Json;
  }

  const registry: Registry = {
    put(input: PutInput): PutResult {
      if (!input || !ARTIFACT_KINDS.includes(input.kind)) {
        throw new RegistryError(
          'E_REGISTRY_INPUT',
          `Artifact kind must be ${listChoices(ARTIFACT_KINDS)}; got ${JSON.stringify(input?.kind)}.`,
          { details: { kind: input?.kind } },
        );
      }
      if (typeof input.name !== 'string' || input.name.trim() === '') {
        throw new RegistryError('E_REGISTRY_INPUT', `A ${input.kind} artifact needs a non-empty name; got ${JSON.stringify(input.name)}.`);
      }
      const meta = jsonObject(input.meta, `The meta of ${input.kind} '${input.name}'`);
      const content = prepareContent(input);
      const parents = [...new Set((input.parents ?? []).map((p) => get(p).digest))];
      const { digest, size } = storeContent(objects, content);
      return ctx.tx(() => {
        const existing = store.row(digest);
        if (existing && existing.kind !== input.kind) {
          throw new RegistryError(
            'E_REGISTRY_KIND_CONFLICT',
            `This content is already registered as ${existing.kind} '${existing.name}' (${digest.slice(0, 12)}); it cannot also be a ${input.kind}.`,
            {
              details: { digest, kind: existing.kind, wanted: input.kind },
            },
          );
        }
        if (parents.includes(digest))
          throw new RegistryError('E_REGISTRY_CYCLE', `${input.kind} '${input.name}' (${digest.slice(0, 12)}) cannot be its own parent.`, {
            details: { digest },
          });
        if (existing) {
          addParents(store, digest, existing, parents);
          return { ...store.toArtifact(existing), existed: true };
        }
        const name = input.name.trim();
        store.insert({
          digest,
          kind: input.kind,
          name,
          storage: content.storage,
          size,
          media_type: content.mediaType,
          meta: canonicalJson(meta),
          created_at: ctx.now(),
          actor: ctx.actor,
        });
        for (const f of content.files ?? []) store.insertFile(digest, f);
        for (const p of parents) store.insertEdge(digest, p);
        audit.append({ action: 'register', subject: digest, details: { kind: input.kind, name, size, storage: content.storage, parents } });
        return { ...artifact(digest), existed: false };
      });
    },

    get,
    find,

    list(filter: ListFilter = {}): Artifact[] {
      const where: string[] = [];
      const args: unknown[] = [];
      if (filter.kind !== undefined) {
        if (!ARTIFACT_KINDS.includes(filter.kind))
          throw new RegistryError('E_REGISTRY_INPUT', `Artifact kind must be ${listChoices(ARTIFACT_KINDS)}; got '${filter.kind}'.`);
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
      return store.list(where, args).map(store.toArtifact);
    },

    read: (ref) => blobOf(ref).bytes,

    readJson<T = unknown>(ref: string): T {
      const { artifact: a, bytes } = blobOf(ref);
      try {
        return JSON.parse(bytes.toString('utf8')) as T;
      } catch (error) {
        throw new RegistryError('E_REGISTRY_NOT_JSON', `${a.kind} '${a.name}' (${a.digest.slice(0, 12)}) is not JSON (${a.mediaType}).`, {
          cause: error,
          details: { digest: a.digest },
        });
      }
    },

    manifest(ref) {
      const a = get(ref);
      if (a.storage !== 'manifest') {
        throw new RegistryError(
          'E_REGISTRY_NOT_DIRECTORY',
          `${a.kind} '${a.name}' (${a.digest.slice(0, 12)}) is a single blob, not a directory; use read().`,
          { details: { digest: a.digest } },
        );
      }
      return store.files(a.digest);
    },

    materialize(ref, out) {
      const a = get(ref);
      return materializeArtifact(objects, a, a.storage === 'manifest' ? store.files(a.digest) : [], out);
    },

    lineage(ref, options = {}) {
      const a = get(ref);
      const depth = options.depth ?? 1_000_000;
      const ancestors = store.ancestors(a.digest, depth);
      const descendants = store.descendants(a.digest, depth);
      const nodes = new Set([a.digest, ...ancestors.map((n) => n.digest), ...descendants.map((n) => n.digest)]);
      const edges: Array<{ child: string; parent: string }> = [];
      for (const d of nodes) for (const p of store.parents(d)) if (nodes.has(p)) edges.push({ child: d, parent: p });
      return { artifact: a, ancestors, descendants, edges };
    },

    tag(ref, tag, options = {}) {
      checkTagName(tag);
      const { digest } = get(ref);
      return ctx.tx(() => {
        const current = store.tagOf(tag) ?? null;
        if (current === digest) return store.events(tag).at(-1) as TagEvent;
        return compareAndSetTag(ctx, store, audit, { tag, from: current, to: digest, action: 'tag', reason: options.reason ?? null });
      });
    },

    promote(ref, tag, options) {
      checkTagName(tag);
      const reason = requireReason(options?.reason, 'promotion');
      const { digest } = get(ref);
      return ctx.tx(() => {
        const from = options.from === undefined ? (store.tagOf(tag) ?? null) : expected(options.from);
        return compareAndSetTag(ctx, store, audit, { tag, from, to: digest, action: 'promote', reason });
      });
    },

    rollback(tag, options) {
      checkTagName(tag);
      const reason = requireReason(options?.reason, 'rollback');
      const chosen = options.to === undefined ? undefined : get(options.to).digest;
      return ctx.tx(() => {
        const current = store.tagOf(tag);
        if (current === undefined)
          throw new RegistryError('E_REGISTRY_NOT_FOUND', `Tag '${tag}' points nowhere yet; nothing to roll back.`, { details: { tag } });
        const from = options.from === undefined ? current : expected(options.from);
        expectTagAt(store, tag, from);
        const target = chosen ?? stackOf(store.events(tag)).at(-2);
        if (target === undefined || target === current) {
          throw new RegistryError(
            'E_REGISTRY_NO_PREVIOUS',
            `Tag '${tag}' has no earlier target to roll back to (it only ever pointed at ${current.slice(0, 12)}); pass 'to' / --to DIGEST.`,
            {
              details: { tag, current },
            },
          );
        }
        return compareAndSetTag(ctx, store, audit, { tag, from, to: target, action: 'rollback', reason });
      });
    },

    moveTag(tag, move) {
      checkTagName(tag);
      const action = move.action ?? 'tag';
      const reason =
        action === 'tag' ? move.reason?.trim() || null : requireReason(move.reason, action === 'promote' ? 'promotion' : 'rollback');
      const to = get(move.to).digest;
      return ctx.tx(() =>
        compareAndSetTag(ctx, store, audit, {
          tag,
          from: expected(move.from),
          to,
          action,
          reason,
          ...(move.actor ? { actor: move.actor } : {}),
        }),
      );
    },

    resolveTag: (tag) => store.tagOf(tag),
    previous: (tag) => stackOf(store.events(tag)).at(-2),
    tagHistory: (tag) => store.events(tag),
    tags: () => store.tags(),

    diff(aRef, bRef) {
      return diffArtifacts(get(aRef), get(bRef), { jsonContent, manifest: (a) => store.files(a.digest) });
    },

    check(): ArtifactCheck {
      const problems: ArtifactCheck['problems'] = [];
      const rows = store.all();
      for (const row of rows) {
        const bad = objects.problem(row.digest);
        if (bad) problems.push({ digest: row.digest, reason: bad });
        if (row.storage !== 'manifest') continue;
        const files = store.files(row.digest);
        if (sha256Hex(manifestBytes(files)) !== row.digest)
          problems.push({ digest: row.digest, reason: 'the file list in the database does not match the manifest digest' });
        for (const f of files) {
          const fileBad = objects.problem(f.digest);
          if (fileBad) problems.push({ digest: row.digest, path: f.path, reason: fileBad });
        }
      }
      return { artifacts: rows.length, problems };
    },

    checkTags: () => checkTags(store, audit),
  };

  /** New parents of content already stored become lineage edges, refusing a cycle. */
  function addParents(s: RegistryStore, digest: string, existing: ArtifactRow, parents: readonly string[]): void {
    const known = new Set(s.parents(digest));
    const added = parents.filter((p) => !known.has(p));
    if (added.length === 0) return;
    const below = new Set(s.descendants(digest, 1_000_000).map((n) => n.digest));
    const cyclic = added.find((p) => below.has(p));
    if (cyclic) {
      throw new RegistryError(
        'E_REGISTRY_CYCLE',
        `Adding ${cyclic.slice(0, 12)} as a parent of ${digest.slice(0, 12)} would make a lineage cycle: it already descends from it.`,
        {
          details: { digest, parent: cyclic },
        },
      );
    }
    for (const p of added) s.insertEdge(digest, p);
    audit.append({ action: 'lineage', subject: digest, details: { kind: existing.kind, name: existing.name, addedParents: added } });
  }

  return registry;
}

/**
 * Registration order of an artifact (its SQLite rowid), or undefined. Timestamps can tie
 * within a millisecond; the rowid tells a re-evaluation from an older one.
 */
export function registrationOrder(ctx: GovernanceContext, digest: string): number | undefined {
  return (ctx.db.prepare('SELECT rowid AS r FROM artifacts WHERE digest = ?').get(digest) as { r: number } | undefined)?.r;
}

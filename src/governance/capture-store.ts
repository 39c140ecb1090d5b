/**
 * The capture store: examples the server's defences flagged or denied, probes the canary
 * broke, and evaluation examples queued for review, as rows in `captures` with their
 * inputs as content-addressed blobs in `capture_blobs`. Inputs live in SQLite rather than
 * in `objects/` so a batch of captures is one transaction (one commit) and eviction deletes
 * an input with its last row. Limits (count, bytes, age) are enforced on every write,
 * oldest first; rows a reviewer confirmed or relabelled are kept, since they are the
 * scarce, human-labelled part. Every write and every eviction is in the audit log.
 */
import { randomUUID } from 'node:crypto';
import { RegistryError, listChoices } from '../core/errors.js';
import { canonicalJson, sha256Hex } from './canonical-json.js';
import { redactText } from './capture-redact.js';
import {
  CAPTURE_SOURCES,
  REVIEW_STATUSES,
  type CaptureInput,
  type CaptureLimits,
  type CaptureRecord,
  type CaptureStore,
  type RedactionOptions,
} from './capture-types.js';

export type { CaptureStore, CaptureWriteOptions, CaptureWriteResult } from './capture-types.js';
import type { GovernanceContext } from './context.js';
import type { AuditLog } from './types.js';

interface CaptureRow {
  seq: number;
  id: string;
  at: string;
  source: string;
  channel: string;
  model: string;
  client: string;
  input_digest: string;
  input_bytes: number;
  shape: string | null;
  predicted: number | null;
  label: number | null;
  threat: string | null;
  decisions: string;
  redacted: number;
  note: string;
  review_status: string;
  true_label: number | null;
  reviewer: string | null;
  review_reason: string | null;
  decided_at: string | null;
}

const EVICTED_KEY = 'capture.evicted';

function encodeInput(item: CaptureInput, limits: CaptureLimits, redact: RedactionOptions | undefined) {
  if (typeof item.text === 'string') {
    let text = item.text;
    let redacted = false;
    if (redact) ({ text, changed: redacted } = redactText(text, redact));
    let bytes = Buffer.from(text, 'utf8');
    // Cut on a character boundary so the stored text stays valid UTF-8.
    if (bytes.length > limits.maxInputBytes)
      bytes = Buffer.from(
        bytes
          .subarray(0, limits.maxInputBytes)
          .toString('utf8')
          .replace(/\uFFFD+$/, ''),
      );
    return { channel: 'text' as const, bytes, shape: null, redacted };
  }
  if (item.x && item.shape) {
    const x = Float32Array.from(item.x);
    const size = item.shape.reduce((a, b) => a * b, 1);
    if (x.length !== size || x.byteLength > limits.maxInputBytes || x.some((v) => !Number.isFinite(v))) return undefined;
    return { channel: 'image' as const, bytes: Buffer.from(x.buffer, x.byteOffset, x.byteLength), shape: [...item.shape], redacted: false };
  }
  return undefined;
}

/** Prepares the capture store's statements on the governance database. */
export function createCaptureStore(ctx: GovernanceContext, audit: AuditLog): CaptureStore {
  const { db } = ctx;
  const q = {
    putBlob: db.prepare('INSERT OR IGNORE INTO capture_blobs (digest, bytes) VALUES (?, ?)'),
    blob: db.prepare('SELECT bytes FROM capture_blobs WHERE digest = ?'),
    insert: db.prepare(`INSERT INTO captures (id, at, source, channel, model, client, input_digest, input_bytes, shape, predicted, label,
      threat, decisions, redacted, note) VALUES (@id, @at, @source, @channel, @model, @client, @input_digest, @input_bytes, @shape,
      @predicted, @label, @threat, @decisions, @redacted, @note)`),
    byId: db.prepare('SELECT * FROM captures WHERE id = ?'),
    // Human-labelled rows are never evicted; everything else goes oldest first.
    oldBefore: db.prepare("SELECT seq FROM captures WHERE at < ? AND review_status IN ('pending', 'benign') ORDER BY seq"),
    totals: db.prepare('SELECT COUNT(*) AS n, COALESCE(SUM(input_bytes), 0) AS bytes FROM captures'),
    evictable: db.prepare("SELECT seq, input_bytes FROM captures WHERE review_status IN ('pending', 'benign') ORDER BY seq LIMIT ?"),
    remove: db.prepare('DELETE FROM captures WHERE seq = ? RETURNING input_digest'),
    orphan: db.prepare('DELETE FROM capture_blobs WHERE digest = ? AND NOT EXISTS (SELECT 1 FROM captures WHERE input_digest = ?)'),
    getMeta: db.prepare('SELECT value FROM meta WHERE key = ?'),
    setMeta: db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
    bySource: db.prepare('SELECT source AS k, COUNT(*) AS n FROM captures GROUP BY source'),
    byStatus: db.prepare('SELECT review_status AS k, COUNT(*) AS n FROM captures GROUP BY review_status'),
    review: db.prepare(
      'UPDATE captures SET review_status = ?, true_label = ?, reviewer = ?, review_reason = ?, decided_at = ? WHERE id = ?',
    ),
  };

  const toRecord = (r: CaptureRow): CaptureRecord => ({
    id: r.id,
    seq: r.seq,
    at: r.at,
    source: r.source as CaptureRecord['source'],
    channel: r.channel as CaptureRecord['channel'],
    model: r.model,
    client: r.client,
    inputDigest: r.input_digest,
    inputBytes: r.input_bytes,
    shape: r.shape === null ? null : (JSON.parse(r.shape) as number[]),
    predicted: r.predicted,
    label: r.label,
    threat: r.threat,
    decisions: JSON.parse(r.decisions) as CaptureRecord['decisions'],
    redacted: r.redacted === 1,
    note: JSON.parse(r.note) as CaptureRecord['note'],
    review: {
      status: r.review_status as CaptureRecord['review']['status'],
      trueLabel: r.true_label,
      reviewer: r.reviewer,
      reason: r.review_reason,
      decidedAt: r.decided_at,
    },
  });

  function row(id: string): CaptureRow {
    const r = q.byId.get(id) as CaptureRow | undefined;
    if (!r)
      throw new RegistryError('E_CAPTURE_NOT_FOUND', `No captured item '${id}'; list them with 'rampart review ls'.`, { details: { id } });
    return r;
  }

  function evict(limits: CaptureLimits): number {
    let evicted = 0;
    const drop = (seq: number): void => {
      const gone = q.remove.get(seq) as { input_digest: string } | undefined;
      if (gone) q.orphan.run(gone.input_digest, gone.input_digest);
      evicted++;
    };
    const cutoff = new Date(Date.parse(ctx.now()) - limits.maxAge).toISOString();
    for (const { seq } of q.oldBefore.all(cutoff) as Array<{ seq: number }>) drop(seq);
    const totals = q.totals.get() as { n: number; bytes: number };
    let { n, bytes } = totals;
    if (n <= limits.maxItems && bytes <= limits.maxBytes) return evicted;
    for (const r of q.evictable.all(Math.max(n, 1)) as Array<{ seq: number; input_bytes: number }>) {
      if (n <= limits.maxItems && bytes <= limits.maxBytes) break;
      drop(r.seq);
      n--;
      bytes -= r.input_bytes;
    }
    return evicted;
  }

  return {
    write(items, options) {
      const ids: string[] = [];
      let skipped = 0;
      return ctx.tx(() => {
        for (const item of items) {
          if (!CAPTURE_SOURCES.includes(item.source)) {
            throw new RegistryError(
              'E_CAPTURE_INPUT',
              `A capture's source must be ${listChoices(CAPTURE_SOURCES)}; got ${JSON.stringify(item.source)}.`,
            );
          }
          const enc = encodeInput(item, options.limits, options.redact);
          if (!enc) {
            skipped++;
            continue;
          }
          // The digest covers the shape too, so the same floats under another shape are another input.
          const digest = sha256Hex(Buffer.concat([Buffer.from(`${enc.channel}:${JSON.stringify(enc.shape)}\n`), enc.bytes]));
          q.putBlob.run(digest, enc.bytes);
          const id = `cap_${sha256Hex(`${digest}|${item.at}|${item.client}|${item.source}|${ids.length}|${randomUUID()}`).slice(0, 16)}`;
          q.insert.run({
            id,
            at: item.at,
            source: item.source,
            channel: enc.channel,
            model: item.model,
            client: item.client,
            input_digest: digest,
            input_bytes: enc.bytes.length,
            shape: enc.shape ? JSON.stringify(enc.shape) : null,
            predicted: item.predicted ?? null,
            label: item.label ?? null,
            threat: item.threat ?? null,
            decisions: JSON.stringify(item.decisions.slice(0, 32)),
            redacted: enc.redacted ? 1 : 0,
            note: canonicalJson(item.note ?? {}),
          });
          ids.push(id);
        }
        const evicted = evict(options.limits);
        const actor = options.actor ? { actor: options.actor } : {};
        if (ids.length > 0) {
          const sources: Record<string, number> = {};
          for (const item of items) sources[item.source] = (sources[item.source] ?? 0) + 1;
          audit.append({ action: 'capture', subject: 'captures', details: { written: ids.length, skipped, sources }, ...actor });
        }
        if (evicted > 0) {
          const total = Number((q.getMeta.get(EVICTED_KEY) as { value: string } | undefined)?.value ?? 0) + evicted;
          q.setMeta.run(EVICTED_KEY, String(total));
          audit.append({ action: 'capture-evict', subject: 'captures', details: { evicted, totalEvicted: total }, ...actor });
        }
        return { written: ids.length, skipped, evicted, ids };
      });
    },

    list(filter = {}) {
      const where: string[] = [];
      const args: unknown[] = [];
      if (filter.source !== undefined) {
        if (!CAPTURE_SOURCES.includes(filter.source))
          throw new RegistryError('E_CAPTURE_INPUT', `source must be ${listChoices(CAPTURE_SOURCES)}; got '${filter.source}'.`);
        where.push('source = ?');
        args.push(filter.source);
      }
      if (filter.status !== undefined) {
        if (!REVIEW_STATUSES.includes(filter.status))
          throw new RegistryError('E_CAPTURE_INPUT', `status must be ${listChoices(REVIEW_STATUSES)}; got '${filter.status}'.`);
        where.push('review_status = ?');
        args.push(filter.status);
      }
      if (filter.model !== undefined) {
        where.push('model = ?');
        args.push(filter.model);
      }
      if (filter.afterSeq !== undefined) {
        where.push('seq > ?');
        args.push(filter.afterSeq);
      }
      const order = filter.afterSeq === undefined ? 'DESC' : 'ASC';
      const limit = Math.max(1, Math.min(filter.limit ?? 100, 100_000));
      const sql = `SELECT * FROM captures ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq ${order} LIMIT ${limit}`;
      return (db.prepare(sql).all(...args) as CaptureRow[]).map(toRecord);
    },

    get: (id) => toRecord(row(id)),

    input(id) {
      const r = row(id);
      const blob = q.blob.get(r.input_digest) as { bytes: Buffer } | undefined;
      const bytes = blob?.bytes;
      const head = Buffer.from(`${r.channel}:${r.shape ?? 'null'}\n`);
      if (!bytes || sha256Hex(Buffer.concat([head, bytes])) !== r.input_digest) {
        throw new RegistryError(
          'E_CAPTURE_CORRUPT',
          `The stored input of ${id} is missing or changed (digest ${r.input_digest.slice(0, 12)}); the registry lost data, restore it from a backup.`,
          { details: { id, digest: r.input_digest } },
        );
      }
      if (r.channel === 'text') return { kind: 'text', text: bytes.toString('utf8') };
      const copy = new Uint8Array(bytes);
      return { kind: 'image', x: new Float32Array(copy.buffer, 0, copy.byteLength / 4), shape: JSON.parse(r.shape as string) as number[] };
    },

    stats() {
      const totals = q.totals.get() as { n: number; bytes: number };
      const count = (rows: unknown[]): Record<string, number> =>
        Object.fromEntries((rows as Array<{ k: string; n: number }>).map((r) => [r.k, r.n]));
      return {
        items: totals.n,
        bytes: totals.bytes,
        evicted: Number((q.getMeta.get(EVICTED_KEY) as { value: string } | undefined)?.value ?? 0),
        bySource: count(q.bySource.all()),
        byStatus: count(q.byStatus.all()),
      };
    },

    setReview(id, review) {
      row(id);
      q.review.run(review.status, review.trueLabel, review.reviewer, review.reason, review.at, id);
    },
  };
}

/**
 * The audit log: append-only and hash-chained. Each entry's hash is
 * sha256(prevHash + "\n" + canonical JSON of {seq, at, actor, action, subject, details}),
 * and the first entry chains from 64 zeros. Editing an entry breaks its hash; removing or
 * reordering entries breaks the sequence or the next entry's prevHash. The head (last seq
 * and hash) is also kept in `meta`, so cutting entries off the end is caught too; against
 * an attacker who rewrites the whole chain, the head is signed with an Ed25519 key kept
 * outside `.rampart/` (see `audit-signing.ts`), checked with the public key alone; or
 * compare `verify().head` with a copy kept elsewhere (`rampart audit verify --expect-head`).
 */
import type { KeyObject } from 'node:crypto';
import { RegistryError } from '../core/errors.js';
import { canonicalJson, sha256Hex } from './canonical-json.js';
import type { GovernanceContext } from './context.js';
import { auditKeyId, parseSignedHead, signHead, verifySignedHead } from './audit-signing.js';
import type { AuditEntry, AuditInput, AuditLog, AuditVerifyResult, Json, SignedHead } from './types.js';

export const GENESIS_HASH = '0'.repeat(64);
const HEAD_KEY = 'audit.head';
const SIGNED_HEAD_KEY = 'audit.head.signed';

interface AuditRow {
  seq: number;
  at: string;
  actor: string;
  action: string;
  subject: string;
  details: string;
  prev_hash: string;
  hash: string;
}

/** The hash of one entry given the previous entry's hash. */
export function auditHash(entry: Omit<AuditEntry, 'hash' | 'prevHash'>, prevHash: string): string {
  const body = canonicalJson({
    seq: entry.seq,
    at: entry.at,
    actor: entry.actor,
    action: entry.action,
    subject: entry.subject,
    details: entry.details,
  });
  return sha256Hex(`${prevHash}\n${body}`);
}

/**
 * The audit log on an open governance context; with `signingKey` every append also signs
 * the new head.
 *
 * @example const audit = createAuditLog(ctx, { signingKey: loadAuditPrivateKey(path) });
 */
export function createAuditLog(ctx: GovernanceContext, options: { signingKey?: KeyObject } = {}): AuditLog {
  const { db } = ctx;
  const last = db.prepare('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1');
  const insert = db.prepare(
    'INSERT INTO audit_log (seq, at, actor, action, subject, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const setHead = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
  const getHead = db.prepare('SELECT value FROM meta WHERE key = ?');

  const toEntry = (r: AuditRow): AuditEntry => ({
    seq: r.seq,
    at: r.at,
    actor: r.actor,
    action: r.action,
    subject: r.subject,
    details: JSON.parse(r.details) as Record<string, Json>,
    prevHash: r.prev_hash,
    hash: r.hash,
  });

  const log: AuditLog = {
    append(input: AuditInput): AuditEntry {
      if (typeof input.action !== 'string' || input.action.trim() === '') {
        throw new RegistryError(
          'E_AUDIT_INPUT',
          `An audit entry needs a non-empty action such as 'train' or 'promote'; got ${JSON.stringify(input.action)}.`,
        );
      }
      if (typeof input.subject !== 'string')
        throw new RegistryError(
          'E_AUDIT_INPUT',
          `An audit entry needs a subject (digest, tag or id); got ${JSON.stringify(input.subject)}.`,
        );
      const detailsText = canonicalJson(input.details ?? {});
      const details = JSON.parse(detailsText) as Record<string, Json>;
      if (details === null || typeof details !== 'object' || Array.isArray(details)) {
        throw new RegistryError('E_AUDIT_INPUT', 'Audit details must be a JSON object.', { details: { got: detailsText.slice(0, 80) } });
      }
      return ctx.tx(() => {
        const prev = last.get() as { seq: number; hash: string } | undefined;
        const actor = typeof input.actor === 'string' && input.actor.trim() !== '' ? input.actor.trim() : ctx.actor;
        const base = { seq: (prev?.seq ?? 0) + 1, at: ctx.now(), actor, action: input.action, subject: input.subject, details };
        const prevHash = prev?.hash ?? GENESIS_HASH;
        const hash = auditHash(base, prevHash);
        insert.run(base.seq, base.at, base.actor, base.action, base.subject, detailsText, prevHash, hash);
        setHead.run(HEAD_KEY, `${base.seq}:${hash}`);
        if (options.signingKey) setHead.run(SIGNED_HEAD_KEY, JSON.stringify(signHead(options.signingKey, base.seq, hash)));
        return { ...base, prevHash, hash };
      });
    },

    list(options = {}): AuditEntry[] {
      const where: string[] = [];
      const args: unknown[] = [];
      if (options.subject !== undefined) {
        where.push('subject = ?');
        args.push(options.subject);
      }
      if (options.action !== undefined) {
        where.push('action = ?');
        args.push(options.action);
      }
      const filter = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
      const sql =
        options.limit === undefined
          ? `SELECT * FROM audit_log ${filter} ORDER BY seq`
          : `SELECT * FROM (SELECT * FROM audit_log ${filter} ORDER BY seq DESC LIMIT ${Math.max(0, Math.floor(options.limit))}) ORDER BY seq`;
      return (db.prepare(sql).all(...args) as AuditRow[]).map(toEntry);
    },

    verify(options = {}): AuditVerifyResult {
      const expectHead = options.expectHead?.toLowerCase();
      const signed = parseSignedHead((getHead.get(SIGNED_HEAD_KEY) as { value: string } | undefined)?.value);
      let hashAtSigned: string | undefined;
      let anchored = expectHead === undefined;
      let prevHash = GENESIS_HASH;
      let expected = 1;
      let entries = 0;
      const fail = (seq: number, reason: string): AuditVerifyResult => ({
        ok: false,
        entries,
        head: prevHash === GENESIS_HASH ? null : prevHash,
        firstBad: { seq, reason },
      });
      for (const r of db.prepare('SELECT * FROM audit_log ORDER BY seq').iterate() as IterableIterator<AuditRow>) {
        if (r.seq !== expected) {
          return fail(
            expected,
            r.seq > expected
              ? `entry ${expected} is missing (entries ${expected}–${r.seq - 1} were removed)`
              : `entry ${r.seq} is out of order`,
          );
        }
        if (r.prev_hash !== prevHash) {
          return fail(
            r.seq,
            `entry ${r.seq} does not chain to entry ${r.seq - 1} (prevHash differs): entries were removed, inserted or reordered`,
          );
        }
        let details: unknown;
        try {
          details = JSON.parse(r.details);
        } catch {
          return fail(r.seq, `entry ${r.seq} has unreadable details: it was edited`);
        }
        const actual = auditHash(
          { seq: r.seq, at: r.at, actor: r.actor, action: r.action, subject: r.subject, details: details as Record<string, Json> },
          r.prev_hash,
        );
        if (actual !== r.hash) return fail(r.seq, `entry ${r.seq} (${r.action} ${r.subject}) does not match its hash: it was edited`);
        if (r.hash === expectHead) anchored = true;
        if (r.seq === signed?.seq) hashAtSigned = r.hash;
        prevHash = r.hash;
        expected += 1;
        entries += 1;
      }
      const head = (getHead.get(HEAD_KEY) as { value: string } | undefined)?.value;
      const actualHead = entries === 0 ? undefined : `${entries}:${prevHash}`;
      if (head !== actualHead) {
        const recorded = head ? Number(head.split(':')[0]) : 0;
        return fail(
          Math.min(recorded, entries) + 1,
          recorded > entries
            ? `the log ends at entry ${entries} but entry ${recorded} was written: entries were removed from the end`
            : `the recorded head (${head ?? 'none'}) does not match the last entry: the log or its head was edited`,
        );
      }
      if (!anchored) {
        return fail(
          entries + 1,
          `the chain does not contain the expected head ${expectHead}: the log was rewritten (or the head belongs to another registry)`,
        );
      }
      const head_ = entries === 0 ? null : prevHash;
      const signature = checkSignature(signed, hashAtSigned, entries, options.publicKey);
      if ('reason' in signature) return { ok: false, entries, head: head_, firstBad: { seq: signature.seq, reason: signature.reason } };
      return { ok: true, entries, head: head_, ...(signature.status ? { signed: signature.status } : {}) };
    },

    sign(privateKey: KeyObject): SignedHead | null {
      return ctx.tx(() => {
        const result = log.verify();
        if (!result.ok) {
          throw new RegistryError('E_AUDIT_CHAIN_BROKEN', `Refusing to sign a broken audit chain: ${result.firstBad?.reason}.`, {
            details: { ...result },
          });
        }
        if (result.head === null) return null;
        const signedHead = signHead(privateKey, result.entries, result.head);
        setHead.run(SIGNED_HEAD_KEY, JSON.stringify(signedHead));
        return signedHead;
      });
    },
  };
  return log;
}

type SignatureCheck = { status?: AuditVerifyResult['signed'] } | { seq: number; reason: string };

/**
 * The signed head must verify (against `trusted` when given, else its stored key) and name
 * an entry the chain still holds with the same hash. With a trusted key, a missing
 * signature and entries appended after the signed head fail too.
 */
function checkSignature(
  signed: SignedHead | undefined,
  hashAtSigned: string | undefined,
  entries: number,
  trusted: KeyObject | undefined,
): SignatureCheck {
  if (signed === undefined) {
    if (trusted === undefined || entries === 0) return {};
    const reason =
      `the audit head is not signed, but a public key (${auditKeyId(trusted)}) was given to check it` +
      ': the signature was removed or never made';
    return { seq: entries, reason };
  }
  if (trusted !== undefined && signed.keyId !== auditKeyId(trusted)) {
    const reason =
      `the audit head is signed by key ${signed.keyId}, not by the given key ${auditKeyId(trusted)}` + ': it was re-signed by someone else';
    return { seq: signed.seq, reason };
  }
  if (!verifySignedHead(signed, trusted)) {
    const reason =
      `the signature of the audit head (entry ${signed.seq}, key ${signed.keyId})` +
      ' does not verify: the signature or its head was edited';
    return { seq: signed.seq, reason };
  }
  if (hashAtSigned !== signed.hash) {
    const why =
      hashAtSigned === undefined ? `the log has only ${entries} entries` : `entry ${signed.seq} now hashes to ${hashAtSigned.slice(0, 16)}`;
    const reason = `the signed head names entry ${signed.seq} with hash ${signed.hash.slice(0, 16)}, but ${why}: the chain was rewritten`;
    return { seq: signed.seq, reason };
  }
  const unsignedAfter = entries - signed.seq;
  if (trusted !== undefined && unsignedAfter > 0) {
    const reason = `entries ${signed.seq + 1}–${entries} were appended without the signing key (the signed head is entry ${signed.seq})`;
    return { seq: signed.seq + 1, reason };
  }
  return { status: { seq: signed.seq, hash: signed.hash, keyId: signed.keyId, trusted: trusted !== undefined, unsignedAfter } };
}

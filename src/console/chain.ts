/**
 * Chain status for the audit page without re-hashing 100,000 entries per request: the
 * verifier walks the chain once in batches (yielding to the event loop between them) and
 * then only the entries appended since, so a page reads a cached verdict that is never more
 * than one batch behind. The signed head is checked with the public key stored beside it.
 */
import { auditHash, GENESIS_HASH } from '../governance/audit.js';
import { parseSignedHead, verifySignedHead } from '../governance/audit-signing.js';
import type { Json } from '../governance/index.js';
import type { ReadModel } from './read-model.js';

const BATCH = 5000;

export interface ChainStatus {
  /** Entries checked so far (the chain is verified up to this seq). */
  verifiedSeq: number;
  newest: number;
  ok: boolean;
  firstBad?: { seq: number; reason: string };
  signed?: { seq: number; keyId: string; valid: boolean; matchesChain: boolean | null };
}

export class ChainVerifier {
  private verifiedSeq = 0;
  private lastHash = GENESIS_HASH;
  private firstBad: ChainStatus['firstBad'];
  private running: Promise<void> | undefined;

  constructor(private readonly read: ReadModel) {}

  /** Checks up to one batch of new entries; returns true when caught up. */
  step(): boolean {
    // The console closed its connection (shutdown) while a catch-up was pending.
    if (this.firstBad || !this.read.db.open) return true;
    const rows = this.read.db
      .prepare('SELECT seq, at, actor, action, subject, details, prev_hash, hash FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?')
      .all(this.verifiedSeq, BATCH) as Array<{
      seq: number;
      at: string;
      actor: string;
      action: string;
      subject: string;
      details: string;
      prev_hash: string;
      hash: string;
    }>;
    for (const r of rows) {
      const bad = (reason: string): true => {
        this.firstBad = { seq: r.seq, reason };
        return true;
      };
      if (r.seq !== this.verifiedSeq + 1) return bad(`entry ${this.verifiedSeq + 1} is missing`);
      if (r.prev_hash !== this.lastHash) return bad('its previous hash does not match the entry before it');
      const details = JSON.parse(r.details) as Record<string, Json>;
      const expected = auditHash({ seq: r.seq, at: r.at, actor: r.actor, action: r.action, subject: r.subject, details }, r.prev_hash);
      if (expected !== r.hash) return bad('its content does not match its hash (edited)');
      this.verifiedSeq = r.seq;
      this.lastHash = r.hash;
    }
    return rows.length < BATCH;
  }

  /** Walks the rest of the chain in the background, one batch per event-loop turn. */
  catchUp(): Promise<void> {
    if (this.running) return this.running;
    // Assigned before the first step runs, so a chain already caught up clears it again.
    const running = new Promise<void>((resolve) => {
      const tick = (): void => {
        if (this.step()) {
          this.running = undefined;
          resolve();
        } else setImmediate(tick);
      };
      setImmediate(tick);
    });
    this.running = running;
    return running;
  }

  /** The cached verdict; starts a catch-up when entries were appended since. */
  status(): ChainStatus {
    void this.catchUp();
    const newest = (this.read.db.prepare('SELECT MAX(seq) AS s FROM audit_log').get() as { s: number | null }).s ?? 0;
    const status: ChainStatus = { verifiedSeq: this.verifiedSeq, newest, ok: this.firstBad === undefined };
    if (this.firstBad) status.firstBad = this.firstBad;
    const signed = parseSignedHead(this.read.meta('audit.head.signed'));
    if (signed) {
      const row = this.read.db.prepare('SELECT hash FROM audit_log WHERE seq = ?').get(signed.seq) as { hash: string } | undefined;
      status.signed = {
        seq: signed.seq,
        keyId: signed.keyId,
        valid: verifySignedHead(signed),
        matchesChain: row ? row.hash === signed.hash : null,
      };
    }
    return status;
  }
}

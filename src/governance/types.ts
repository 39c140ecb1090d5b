/**
 * The governance data model: artifacts in a content-addressed registry with lineage and
 * tags, an append-only hash-chained audit log, a risk register and vulnerability records.
 * These are the types the pipeline, the server and the CLI code against.
 */
import type { KeyObject } from 'node:crypto';
import type { CaptureStore } from './capture-types.js';
import type { RiskRegister, VulnerabilityRegister } from './record-types.js';

export * from './record-types.js';

/** What an artifact is. Digests are content hashes, so the kind is descriptive only. */
export type ArtifactKind =
  | 'dataset'
  | 'model'
  | 'checkpoint'
  | 'perturbation-library'
  | 'plan'
  | 'evaluation'
  | 'report'
  | 'vulnerability'
  | 'probe-set'
  | 'adversarial-set';

export const ARTIFACT_KINDS: readonly ArtifactKind[] = [
  'dataset',
  'model',
  'checkpoint',
  'perturbation-library',
  'plan',
  'evaluation',
  'report',
  'vulnerability',
  'probe-set',
  'adversarial-set',
];

/** JSON-serialisable value (what meta, details and JSON artifacts may hold). */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * How an artifact is stored: one blob (a file, bytes or canonical JSON), or a manifest of
 * file digests (a directory such as a model: model.json + weights.bin).
 */
export type ArtifactStorage = 'blob' | 'manifest';

/** One stored artifact. Immutable: nothing here changes after `put`. */
export interface Artifact {
  /** sha256 (64 hex) of the content: the blob's bytes, or the canonical JSON manifest of a directory. */
  digest: string;
  kind: ArtifactKind;
  name: string;
  storage: ArtifactStorage;
  /** Bytes of the blob, or the summed bytes of the directory's files. */
  size: number;
  /** 'application/json' for JSON artifacts, 'text/markdown' for reports..., or 'inode/directory'. */
  mediaType: string;
  meta: Record<string, Json>;
  /** Digests this artifact was made from (plan, data, base model, evaluation...). */
  parents: string[];
  createdAt: string;
  actor: string;
}

/** One file of a directory artifact. */
export interface ManifestEntry {
  /** POSIX path relative to the directory. */
  path: string;
  digest: string;
  size: number;
}

/** What to store. Exactly one of `path`, `json` or `bytes`. */
export interface PutInput {
  kind: ArtifactKind;
  name: string;
  /** A file (stored as one blob) or a directory (stored as a manifest of file blobs). */
  path?: string;
  /** Stored as canonical (sorted-key) JSON, so equal values give equal digests. */
  json?: Json | object;
  bytes?: Uint8Array | string;
  /** Free-form facts; for `evaluation` artifacts see {@link EvaluationMeta}. */
  meta?: Record<string, Json> | object;
  /** Digests (or unique prefixes) of the artifacts this one was produced from. */
  parents?: string[];
  /** Overrides the guessed media type. */
  mediaType?: string;
}

/** The result of `put`: the artifact, and whether identical content was already stored. */
export interface PutResult extends Artifact {
  existed: boolean;
}

/**
 * The meta an `evaluation` artifact must carry for gates, residual risk and vulnerability
 * verification: whether the gate passed overall and per threat, with measured attack success.
 */
export interface EvaluationMeta {
  passed: boolean;
  threats?: Record<string, { passed: boolean; attackSuccessRate?: number }>;
  metrics?: Record<string, number>;
  [key: string]: unknown;
}

export interface ListFilter {
  kind?: ArtifactKind;
  /** Only the artifact this tag currently points to. */
  tag?: string;
  /** Case-sensitive substring of the name. */
  name?: string;
}

export interface LineageNode {
  digest: string;
  kind: ArtifactKind;
  name: string;
  /** Steps from the artifact asked about (1 = direct parent or child). */
  depth: number;
}

export interface Lineage {
  artifact: Artifact;
  ancestors: LineageNode[];
  descendants: LineageNode[];
  /** Every edge among the nodes above, child → parent. */
  edges: Array<{ child: string; parent: string }>;
}

export type TagAction = 'tag' | 'promote' | 'rollback';

export interface TagEvent {
  id: number;
  tag: string;
  digest: string;
  /** Where the tag pointed before this event (null for its first use). */
  previousDigest: string | null;
  action: TagAction;
  reason: string | null;
  actor: string;
  at: string;
}

export interface ValueChange {
  /** Dotted path into meta or the JSON content (`metrics.robustAccuracy`). */
  path: string;
  a: Json | undefined;
  b: Json | undefined;
  /** b - a when both are numbers. */
  delta?: number;
}

export interface ArtifactDiff {
  a: Artifact;
  b: Artifact;
  meta: ValueChange[];
  /** JSON content differences (evaluations, plans, reports stored as JSON). */
  content: ValueChange[];
  /** For directory artifacts: files added, removed or changed. */
  files: Array<{ path: string; a: string | null; b: string | null }>;
  sameContent: boolean;
  /** True when more content changes existed than were listed (the first 500 are). */
  contentTruncated: boolean;
}

/**
 * A compare-and-set move of a tag: it happens only if the tag still points at `from`
 * (null: the tag must be unset), so two writers (replicas, operators) cannot silently
 * overwrite each other's move.
 */
export interface TagMove {
  /** Full digest (or unique prefix) the caller last saw the tag at; null when it was unset. */
  from: string | null;
  /** The artifact to point the tag at (digest, prefix or `tag:NAME`). */
  to: string;
  /** Kept in the tag history and the audit log; required for promote and rollback. */
  reason?: string;
  /** Who moves it (default: the governance actor), e.g. 'serve:auto-rollback'. */
  actor?: string;
  /** How the move is recorded (default 'tag'); a 'rollback' pops the deployment stack. */
  action?: TagAction;
}

/** Result of checking every tag and its history against the audit chain. */
export interface TagCheck {
  tags: number;
  problems: Array<{ tag: string; reason: string }>;
}

/** Result of checking every stored artifact's bytes against its digest. */
export interface ArtifactCheck {
  artifacts: number;
  problems: Array<{ digest: string; path?: string; reason: string }>;
}

// ---------------------------------------------------------------------------------------
// Audit

/** Actions the platform writes; callers may use other dotted names. */
export type AuditAction =
  | 'register'
  | 'tag'
  | 'promote'
  | 'rollback'
  | 'train'
  | 'evaluate'
  | 'gate'
  | 'risk.add'
  | 'risk.update'
  | 'risk.measure'
  | 'vuln.file'
  | 'vuln.transition'
  | (string & {});

export interface AuditInput {
  action: AuditAction;
  /** Who did it, when not the governance actor (a served API key, say). */
  actor?: string;
  /** What changed: a digest, tag, risk id or vulnerability id. */
  subject: string;
  details?: Record<string, Json> | object;
}

export interface AuditEntry {
  seq: number;
  at: string;
  actor: string;
  action: string;
  subject: string;
  details: Record<string, Json>;
  prevHash: string;
  hash: string;
}

export interface AuditVerifyResult {
  ok: boolean;
  entries: number;
  /** Hash of the last entry: write it down elsewhere to detect truncation of the log tail. */
  head: string | null;
  firstBad?: { seq: number; reason: string };
  /** The Ed25519-signed head, when the log has one. */
  signed?: SignedHeadStatus;
}

/** A head (entry `seq` with hash `hash`) signed with an Ed25519 key; stored beside the log. */
export interface SignedHead {
  seq: number;
  hash: string;
  /** sha256 of the public key (SPKI DER), first 16 hex characters. */
  keyId: string;
  /** The signer's public key (PEM), so the signature can be checked without the key file. */
  publicKey: string;
  /** Base64 Ed25519 signature of `rampart-audit-head/v1 <seq> <hash>`. */
  signature: string;
}

/** What `verify` found about the signed head. */
export interface SignedHeadStatus {
  seq: number;
  hash: string;
  keyId: string;
  /** True when checked against a public key the caller supplied, not only the stored one. */
  trusted: boolean;
  /** Entries appended after the signed head without the signing key. */
  unsignedAfter: number;
}

// ---------------------------------------------------------------------------------------
// The API

/** Content-addressed artifacts, lineage and tags. Every change is audited in the same transaction. */
export interface Registry {
  /**
   * Stores an artifact (idempotent: the same content returns the stored record with
   * `existed: true`; new parents are added as lineage edges, nothing else changes).
   * @throws RegistryError `E_REGISTRY_INPUT` (not exactly one of path/json/bytes, bad kind),
   *   `E_REGISTRY_KIND_CONFLICT`, `E_REGISTRY_NOT_FOUND` (parent).
   */
  put(input: PutInput): PutResult;
  /**
   * Looks up a full digest, a unique hex prefix (≥ 4 chars, `sha256:` allowed), or `tag:NAME`.
   * @throws RegistryError `E_REGISTRY_NOT_FOUND`, `E_REGISTRY_AMBIGUOUS`, `E_REGISTRY_BAD_REF`.
   */
  get(ref: string): Artifact;
  /** Like `get` but returns undefined for an unknown reference (still throws when ambiguous). */
  find(ref: string): Artifact | undefined;
  list(filter?: ListFilter): Artifact[];
  /** Raw bytes of a blob artifact. @throws RegistryError `E_REGISTRY_NOT_BLOB` for directories, `E_REGISTRY_CORRUPT`. */
  read(ref: string): Buffer;
  /** Parsed JSON of a JSON blob artifact. */
  readJson<T = unknown>(ref: string): T;
  /** Files of a directory artifact. */
  manifest(ref: string): ManifestEntry[];
  /**
   * Writes a stored artifact back: a directory artifact into `out` (created), a blob to the
   * file `out`. Every byte is checked against its digest first. Returns `out`.
   */
  materialize(ref: string, out: string): string;
  lineage(ref: string, options?: { depth?: number }): Lineage;
  /** Points `tag` at an artifact (tag history records where it pointed before). */
  tag(ref: string, tag: string, options?: { reason?: string }): TagEvent;
  /** Same as `tag` but audited as a promotion and requires a reason. */
  promote(ref: string, tag: string, options: { reason: string; from?: string | null }): TagEvent;
  /**
   * Moves `tag` back to where it pointed before its current target (or to `to`).
   * @throws RegistryError `E_REGISTRY_NO_PREVIOUS` when the tag has no earlier target.
   */
  rollback(tag: string, options: { reason: string; to?: string; from?: string }): TagEvent;
  /**
   * Moves a tag only if it still points at `move.from` (compare-and-set), in one transaction
   * with its history row and audit entry.
   * @throws RegistryError `E_REGISTRY_TAG_MOVED` when the tag no longer points at `from`;
   *   `E_REGISTRY_ALREADY_TAGGED` when it already points at `to`; `E_REGISTRY_REASON`.
   * @example registry.moveTag('production', { from: seen, to: candidate, reason: 'canary ok', action: 'promote' });
   */
  moveTag(tag: string, move: TagMove): TagEvent;
  /** The digest a tag points to, or undefined. */
  resolveTag(tag: string): string | undefined;
  /** The digest the tag pointed to before its current target (what `rollback` would restore). */
  previous(tag: string): string | undefined;
  /** Events of one tag (or all tags), oldest first. */
  tagHistory(tag?: string): TagEvent[];
  /** Current tags: tag → digest. */
  tags(): Record<string, string>;
  /** Meta and content differences; file digests for directories. */
  diff(a: string, b: string): ArtifactDiff;
  /** Re-hashes every stored blob and manifest file. */
  check(): ArtifactCheck;
  /** Checks each tag and its history against its audited moves (a raw SQL edit of a tag fails). */
  checkTags(): TagCheck;
}

export interface AuditLog {
  /** Appends one entry (in the caller's transaction if there is one). */
  append(input: AuditInput): AuditEntry;
  /** Entries oldest first; `subject`/`action` filter, `limit` keeps the newest N. */
  list(options?: { subject?: string; action?: string; limit?: number }): AuditEntry[];
  /**
   * Recomputes the chain; the first entry that does not match is reported. With
   * `expectHead` (a `head` noted earlier, kept outside the database) the chain must also
   * still contain that entry, which catches a log rewritten from scratch.
   */
  verify(options?: { expectHead?: string; publicKey?: KeyObject }): AuditVerifyResult;
  /**
   * Signs the current head with an Ed25519 private key (after verifying the chain) and keeps
   * the signature beside the log; with a signing key configured every append does this.
   * @throws RegistryError `E_AUDIT_CHAIN_BROKEN` (refuses to sign a broken chain), `E_AUDIT_KEY`.
   */
  sign(privateKey: KeyObject): SignedHead | null;
}

export interface Governance {
  /** The `.rampart` directory. */
  readonly dir: string;
  readonly actor: string;
  readonly registry: Registry;
  readonly audit: AuditLog;
  readonly risks: RiskRegister;
  readonly vulnerabilities: VulnerabilityRegister;
  /** Examples the server captured and evaluation examples queued for review, with their review state. */
  readonly captures: CaptureStore;
  /**
   * Runs `fn` in one SQLite transaction (nestable), so several changes and their audit
   * entries land together or not at all. `fn` must be synchronous.
   */
  transaction<T>(fn: () => T): T;
  /** SQLite integrity_check, every artifact's bytes, each tag against the audit chain, and the chain. */
  check(options?: { publicKey?: KeyObject }): {
    integrity: string;
    artifacts: ArtifactCheck;
    tags: TagCheck;
    audit: AuditVerifyResult;
    ok: boolean;
  };
  close(): void;
}

export interface GovernanceOptions {
  /** Who makes the changes (audit actor). Default: $RAMPART_ACTOR, else the OS user. */
  actor?: string;
  /** Clock for timestamps (tests). */
  now?: () => Date;
  /** Open without creating: fail when the database does not exist. */
  mustExist?: boolean;
  /**
   * `full` (default): every commit is fsynced. `normal`: commits survive a crash of the process
   * but not a power loss (SQLite WAL with synchronous=NORMAL); the capture writer uses it so a
   * batch costs no fsync on the event loop.
   */
  durability?: 'full' | 'normal';
  /**
   * Ed25519 private key (PEM file path or key) that signs the audit head on every append.
   * Default: the file named by $RAMPART_AUDIT_KEY, if set.
   */
  signingKey?: string | KeyObject;
}

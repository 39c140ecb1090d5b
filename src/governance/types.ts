/**
 * The governance data model: artifacts in a content-addressed registry with lineage and
 * tags, an append-only hash-chained audit log, a risk register and vulnerability records.
 * These are the types the pipeline, the server and the CLI code against.
 */

/** What an artifact is. Digests are content hashes, so the kind is descriptive only. */
export type ArtifactKind = 'dataset' | 'model' | 'checkpoint' | 'perturbation-library' | 'plan' | 'evaluation' | 'report' | 'vulnerability' | 'probe-set';

export const ARTIFACT_KINDS: readonly ArtifactKind[] = ['dataset', 'model', 'checkpoint', 'perturbation-library', 'plan', 'evaluation', 'report', 'vulnerability', 'probe-set'];

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
}

// ---------------------------------------------------------------------------------------
// Risks

export type RiskStatus = 'open' | 'mitigated' | 'accepted';
export const RISK_STATUSES: readonly RiskStatus[] = ['open', 'mitigated', 'accepted'];

export type RiskBand = 'low' | 'medium' | 'high' | 'critical';

export interface Risk {
  /** `RISK-0001`. */
  id: string;
  /** The plan threat this risk stands for (unique), or null for a manual entry. */
  threatId: string | null;
  title: string;
  /** 1 (rare) … 5 (almost certain). */
  likelihood: number;
  /** 1 (negligible) … 5 (severe). */
  impact: number;
  owner: string;
  status: RiskStatus;
  notes: string | null;
  /** likelihood × impact, 1–25. */
  inherentScore: number;
  inherentBand: RiskBand;
  /** Latest measured attack success rate in [0, 1], or null before any measurement. */
  measuredSuccess: number | null;
  measuredAt: string | null;
  evaluationDigest: string | null;
  /** inherent × measured success, or the inherent score when nothing was measured yet. */
  residualScore: number;
  residualBand: RiskBand;
  createdAt: string;
  updatedAt: string;
}

export interface RiskInput {
  threatId?: string;
  title: string;
  likelihood: number;
  impact: number;
  owner: string;
  status?: RiskStatus;
  notes?: string;
}

export type RiskPatch = Partial<Pick<Risk, 'title' | 'likelihood' | 'impact' | 'owner' | 'status' | 'notes'>> & { reason?: string };

/** The part of a plan threat the risk register needs; other fields are ignored. */
export interface ThreatLike {
  id: string;
  title?: string;
  description?: string;
  likelihood?: number;
  impact?: number;
  owner?: string;
}

// ---------------------------------------------------------------------------------------
// Vulnerabilities

export type Severity = 'low' | 'medium' | 'high' | 'critical';
export const SEVERITIES: readonly Severity[] = ['low', 'medium', 'high', 'critical'];

export type VulnStatus = 'open' | 'fixed' | 'verified';
export const VULN_STATUSES: readonly VulnStatus[] = ['open', 'fixed', 'verified'];

/** One example of the failure; rendered as a table row (keys become columns). */
export type EvidenceExample = Record<string, string | number | boolean | null>;

export interface Evidence {
  /** What was measured, e.g. 'robustAccuracy' or 'attackSuccessRate'. */
  metric: string;
  measured: number;
  /** The criterion that failed, e.g. '>= 0.8' or 0.8. */
  required: number | string;
  examples?: EvidenceExample[];
}

export interface VulnerabilityInput {
  threatId: string;
  /** Attack id and settings that broke the criterion, e.g. 'pgd-linf eps=0.3 steps=40'. */
  attack: string;
  evidence: Evidence;
  severity: Severity;
  owner: string;
  remediation: string;
  /** The failing evaluation; becomes the report's lineage parent. */
  evaluationDigest?: string;
  title?: string;
}

export interface VulnTransition {
  from: VulnStatus;
  to: VulnStatus;
  at: string;
  actor: string;
  evaluationDigest: string | null;
  note: string | null;
}

export interface Vulnerability {
  /** `VULN-0001`. */
  id: string;
  threatId: string;
  title: string;
  attack: string;
  severity: Severity;
  owner: string;
  remediation: string;
  status: VulnStatus;
  evidence: Evidence;
  /** The failing evaluation it was filed from. */
  evaluationDigest: string | null;
  /** The rendered Markdown report, stored as a `vulnerability` artifact. */
  reportDigest: string;
  /** The passing evaluation that verified the fix. */
  verifiedBy: string | null;
  createdAt: string;
  updatedAt: string;
  history: VulnTransition[];
}

// ---------------------------------------------------------------------------------------
// The API

/** Content-addressed artifacts, lineage and tags. Every change is audited in the same transaction. */
export interface Registry {
  /**
   * Stores an artifact (idempotent: the same content returns the stored record with
   * `existed: true`; new parents are added as lineage edges, nothing else changes).
   * @throws RegistryError `E_REGISTRY_INPUT` (not exactly one of path/json/bytes, bad kind), `E_REGISTRY_KIND_CONFLICT`, `E_REGISTRY_NOT_FOUND` (parent).
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
  promote(ref: string, tag: string, options: { reason: string }): TagEvent;
  /**
   * Moves `tag` back to where it pointed before its current target (or to `to`).
   * @throws RegistryError `E_REGISTRY_NO_PREVIOUS` when the tag has no earlier target.
   */
  rollback(tag: string, options: { reason: string; to?: string }): TagEvent;
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
  verify(options?: { expectHead?: string }): AuditVerifyResult;
}

export interface RiskRegister {
  /** @throws RegistryError `E_RISK_INPUT` (scores outside 1–5, empty title/owner), `E_RISK_DUPLICATE_THREAT`. */
  add(input: RiskInput): Risk;
  /** @throws RegistryError `E_RISK_NOT_FOUND`, `E_RISK_INPUT`. */
  update(id: string, patch: RiskPatch): Risk;
  get(id: string): Risk;
  /** By risk id or threat id. */
  find(idOrThreatId: string): Risk | undefined;
  list(options?: { status?: RiskStatus }): Risk[];
  /** One risk per plan threat; creates the missing ones, leaves existing ones unchanged. */
  syncFromThreats(threats: readonly ThreatLike[], defaults?: { owner?: string }): { created: Risk[]; existing: Risk[] };
  /**
   * Records the latest measured attack success for a threat's risk and recomputes the residual.
   * @throws RegistryError `E_RISK_NOT_FOUND` when no risk stands for the threat, `E_RISK_INPUT` when the rate is outside [0, 1].
   */
  recordMeasurement(threatId: string, attackSuccessRate: number, options?: { evaluationDigest?: string }): Risk;
}

export interface VulnerabilityRegister {
  /** Renders the Markdown report, stores it as a `vulnerability` artifact and opens the record. */
  file(input: VulnerabilityInput): Vulnerability;
  /**
   * open → fixed → verified (and back to open to reopen). `verified` needs the digest of a
   * passing `evaluation` artifact registered after the vulnerability was filed.
   * @throws RegistryError `E_VULN_NOT_VERIFIED`, `E_VULN_TRANSITION`, `E_VULN_NOT_FOUND`.
   */
  transition(id: string, to: VulnStatus, options?: { evaluationDigest?: string; note?: string }): Vulnerability;
  get(id: string): Vulnerability;
  list(options?: { status?: VulnStatus; threatId?: string }): Vulnerability[];
  /** The stored Markdown report. */
  report(id: string): string;
}

export interface Governance {
  /** The `.rampart` directory. */
  readonly dir: string;
  readonly actor: string;
  readonly registry: Registry;
  readonly audit: AuditLog;
  readonly risks: RiskRegister;
  readonly vulnerabilities: VulnerabilityRegister;
  /**
   * Runs `fn` in one SQLite transaction (nestable), so several changes and their audit
   * entries land together or not at all. `fn` must be synchronous.
   */
  transaction<T>(fn: () => T): T;
  /** SQLite integrity_check, every artifact's bytes, and the audit chain. */
  check(): { integrity: string; artifacts: ArtifactCheck; audit: AuditVerifyResult; ok: boolean };
  close(): void;
}

export interface GovernanceOptions {
  /** Who makes the changes (audit actor). Default: $RAMPART_ACTOR, else the OS user. */
  actor?: string;
  /** Clock for timestamps (tests). */
  now?: () => Date;
  /** Open without creating: fail when the database does not exist. */
  mustExist?: boolean;
}

/**
 * The record types of the risk register and the vulnerability records, and their APIs.
 * Split from `types.ts` so each file stays small; `types.ts` re-exports everything here.
 */
import type { ExplanationEvidence } from '../eval/explain/evidence.js';

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
  /** What the attack leaned on: where it moved the model's attribution (see eval/explain). */
  explanation?: ExplanationEvidence;
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

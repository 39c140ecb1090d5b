/**
 * Production evidence for the risk register. The lab measures attack success on the
 * evaluation set; production adds two numbers per threat: the share of reviewed captures
 * of that threat that reviewers confirmed as attacks, and the canary's latest miss rate
 * (one minus its robust accuracy). A risk's residual takes the worst of the lab's number
 * and these, so an attack seen working in production raises it even when the evaluation
 * said otherwise.
 */
import type { CaptureRecord } from './capture-types.js';
import type { Governance, Risk } from './types.js';

export interface ThreatEvidence {
  /** Reviewed captures of this threat (attack, relabel or benign). */
  reviewed: number;
  confirmed: number;
  /** confirmed / reviewed, or null with nothing reviewed. */
  confirmedRate: number | null;
  /** 1 − the latest canary run's accuracy, when a canary run broke probes of this threat. */
  canaryMissRate: number | null;
}

/** Evidence per threat id from the capture store (captures without a threat are left out). */
export function productionEvidence(gov: Governance): Record<string, ThreatEvidence> {
  const out: Record<string, ThreatEvidence> = {};
  const of = (t: string): ThreatEvidence => (out[t] ??= { reviewed: 0, confirmed: 0, confirmedRate: null, canaryMissRate: null });
  const reviewed: CaptureRecord[] = [];
  for (const status of ['attack', 'relabel', 'benign'] as const)
    reviewed.push(...gov.captures.list({ status, afterSeq: 0, limit: 100_000 }));
  for (const c of reviewed) {
    if (!c.threat || c.source === 'evaluation') continue;
    const e = of(c.threat);
    e.reviewed++;
    if (c.review.status !== 'benign') e.confirmed++;
  }
  // The newest canary capture per threat carries its run's probe and miss counts.
  const seen = new Set<string>();
  for (const c of gov.captures.list({ source: 'canary', limit: 10_000 })) {
    const probes = Number(c.note.probes);
    const misses = Number(c.note.misses);
    if (!c.threat || seen.has(c.threat) || !(probes > 0) || !(misses >= 0)) continue;
    seen.add(c.threat);
    of(c.threat).canaryMissRate = Math.min(1, misses / probes);
  }
  for (const e of Object.values(out)) e.confirmedRate = e.reviewed === 0 ? null : e.confirmed / e.reviewed;
  return out;
}

/**
 * Raises each threat's measured attack success to the worst of the lab and production,
 * audited as `risk.production-evidence`. Threats without a risk are skipped.
 *
 * @returns the risks that changed.
 */
export function applyProductionEvidence(gov: Governance): Risk[] {
  const changed: Risk[] = [];
  const evidence = productionEvidence(gov);
  gov.transaction(() => {
    for (const [threat, e] of Object.entries(evidence)) {
      const risk = gov.risks.find(threat);
      if (!risk || risk.threatId !== threat) continue;
      const production = Math.max(e.confirmedRate ?? 0, e.canaryMissRate ?? 0);
      if (production <= (risk.measuredSuccess ?? 0)) continue;
      const updated = gov.risks.recordMeasurement(
        threat,
        production,
        risk.evaluationDigest ? { evaluationDigest: risk.evaluationDigest } : {},
      );
      gov.audit.append({
        action: 'risk.production-evidence',
        subject: risk.id,
        details: { threat, lab: risk.measuredSuccess, production, ...e },
      });
      changed.push(updated);
    }
  });
  return changed;
}

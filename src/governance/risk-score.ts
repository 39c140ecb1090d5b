/**
 * Risk scoring. The inherent score is likelihood × impact on the usual 5 × 5 matrix
 * (1–25). The residual score scales it by the latest measured attack success rate s in
 * [0, 1]: residual = likelihood × impact × s. Until a measurement exists the residual is
 * the inherent score, because an unmeasured threat must be assumed to succeed.
 *
 * Bands (same for both scores): low < 5 ≤ medium < 10 ≤ high < 20 ≤ critical. On the
 * integer matrix that is low 1–4, medium 5–9, high 10–16, critical 20–25.
 */
import type { RiskBand } from './types.js';

export const RISK_BANDS: ReadonlyArray<{ band: RiskBand; min: number }> = [
  { band: 'critical', min: 20 },
  { band: 'high', min: 10 },
  { band: 'medium', min: 5 },
  { band: 'low', min: 0 },
];

export function inherentScore(likelihood: number, impact: number): number {
  return likelihood * impact;
}

/** likelihood × impact × measured success, or the inherent score when `success` is null. */
export function residualScore(likelihood: number, impact: number, success: number | null): number {
  const inherent = inherentScore(likelihood, impact);
  // Rounded so that stored, printed and compared scores agree.
  return success === null ? inherent : Math.round(inherent * success * 1000) / 1000;
}

export function riskBand(score: number): RiskBand {
  for (const { band, min } of RISK_BANDS) if (score >= min) return band;
  return 'low';
}

/**
 * Least disclosure: what a caller learns depends on its role. A predict caller gets labels
 * and probabilities rounded to 4 decimals; the decision trace (every layer's score and
 * reason), per-example flags, model paths, the OOD threshold and the temperature are for
 * operators. Scores to six decimals and thresholds told an adaptive attacker how close each
 * try came; a server configured with `disclosure: full` shows everyone everything.
 */
import { ROLES, type Principal } from './auth.js';
import type { ServeConfig } from './config.js';

/** Decimal places of the probabilities a predict caller sees. */
export const PROBABILITY_DECIMALS = 4;

/** True when this caller may see traces, thresholds and paths. */
export function seesDetails(config: ServeConfig, principal: Principal | undefined): boolean {
  if (config.disclosure === 'full') return true;
  return principal !== undefined && ROLES.indexOf(principal.role) >= ROLES.indexOf('operator');
}

/**
 * Rounds a probability row to `decimals` places so it still sums to 1: each value is
 * floored on the grid and the missing units go to the largest remainders.
 */
export function roundProbabilities(p: Float32Array, decimals = PROBABILITY_DECIMALS): number[] {
  const scale = 10 ** decimals;
  const scaled = Array.from(p, (v) => v * scale);
  const units = scaled.map(Math.floor);
  let missing = Math.round(scaled.reduce((s, v) => s + v, 0)) - units.reduce((s, v) => s + v, 0);
  const order = scaled.map((v, i) => ({ i, r: v - Math.floor(v) })).sort((a, b) => b.r - a.r);
  for (const { i } of order) {
    if (missing <= 0) break;
    units[i] = (units[i] as number) + 1;
    missing--;
  }
  return units.map((u) => u / scale);
}

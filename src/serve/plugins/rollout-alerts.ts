/**
 * When a production signal becomes an alert (edge-triggered, so a webhook hears about a
 * problem once when it starts, not on every window): drift when a signal's PSI stays over
 * its threshold for `windows` consecutive windows; the canary's robust accuracy when it
 * falls below `canaryBelow`; the anomaly rate when it rises above `anomalyAbove`. Each
 * re-arms once the signal is back on the right side. Rollout decisions are alerted by the
 * rollout plugin itself. The payload every alert sends is documented in README ("The closed
 * loop") and docs/SERVING-SECURITY.md: `{ source, kind, at, ...details }`.
 */
import { z } from 'zod';

export const alertRulesSchema = z
  .object({
    drift: z
      .object({ psi: z.number().positive().default(0.25), windows: z.number().int().positive().max(1000).default(3) })
      .strict()
      .default({ psi: 0.25, windows: 3 }),
    canaryBelow: z.number().min(0).max(1).optional(),
    anomalyAbove: z.number().min(0).max(1).optional(),
  })
  .strict();
export type AlertRulesConfig = z.infer<typeof alertRulesSchema>;

export interface Alert {
  kind: 'drift' | 'canary-accuracy' | 'anomaly-rate';
  details: Record<string, unknown>;
}

export interface AlertRules {
  /** One drift window's PSI for `signal`. */
  psi(signal: string, value: number): Alert | undefined;
  canary(accuracy: number, modelId: string): Alert | undefined;
  anomaly(rate: number): Alert | undefined;
}

/** @example const rules = alertRules({ drift: { psi: 0.2, windows: 3 }, canaryBelow: 0.6 }); */
export function alertRules(config: AlertRulesConfig): AlertRules {
  const over = new Map<string, number>();
  let canaryLow = false;
  let anomalyHigh = false;
  return {
    psi(signal, value) {
      const n = value > config.drift.psi ? (over.get(signal) ?? 0) + 1 : 0;
      over.set(signal, n);
      if (n !== config.drift.windows) return undefined;
      return { kind: 'drift', details: { signal, psi: value, threshold: config.drift.psi, windows: n } };
    },
    canary(accuracy, modelId) {
      if (config.canaryBelow === undefined) return undefined;
      const low = accuracy < config.canaryBelow;
      const fire = low && !canaryLow;
      canaryLow = low;
      return fire ? { kind: 'canary-accuracy', details: { accuracy, threshold: config.canaryBelow, model: modelId } } : undefined;
    },
    anomaly(rate) {
      if (config.anomalyAbove === undefined) return undefined;
      const high = rate > config.anomalyAbove;
      const fire = high && !anomalyHigh;
      anomalyHigh = high;
      return fire ? { kind: 'anomaly-rate', details: { rate, threshold: config.anomalyAbove } } : undefined;
    },
  };
}

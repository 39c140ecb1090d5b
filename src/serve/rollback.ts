/**
 * Automated rollback: watch the canary's robust accuracy and the anomaly rate, and when
 * one stays past its threshold for `consecutive` observations, roll the live model back to
 * the previous production model, alert (log + webhook) and audit it.
 *
 * Hysteresis: once a signal has fired it is disarmed, and re-arms only when it comes back
 * past a second, safer level (accuracy above `rearmAbove`, anomaly rate below
 * `rearmBelow`). Without it a signal sitting at the threshold would roll back model after
 * model; with it, a rollback to an equally bad model does not cascade, it alerts.
 * A cooldown after each rollback lets the new model's first observations come in, and a
 * second automatic rollback within `operatorWindowMs` of the first is not made: it alerts
 * and waits for an operator, so no traffic pattern can walk a tag back through its history.
 */

export interface CanaryPolicy {
  /** Roll back when accuracy is below this. Default: the first run's accuracy minus `maxDrop`. */
  below?: number;
  /** Re-arm when accuracy is back at or above this. Default: halfway between `below` and the baseline. */
  rearmAbove?: number;
  /** Allowed drop from the startup model's canary accuracy when `below` is not set (default 0.2). */
  maxDrop?: number;
}

export interface AnomalyPolicy {
  /** Roll back when the anomaly rate is above this (default 0.5). */
  above?: number;
  /** Re-arm when it is back at or below this (default `above` / 2). */
  rearmBelow?: number;
  /** Examples needed in the window before the rate counts (default 50). */
  minSamples?: number;
  /** Distinct clients needed in the window before the rate counts (default 5). */
  minClients?: number;
}

export interface RollbackPolicy {
  canary?: CanaryPolicy | false;
  anomaly?: AnomalyPolicy | false;
  /** Consecutive breaching observations before acting (default 2). */
  consecutive?: number;
  /** No automatic rollback within this many ms of the last one (default 60 s). */
  cooldownMs?: number;
  /** A second automatic rollback within this many ms of the last one needs an operator (default 0: off; the server sets 1 h). */
  operatorWindowMs?: number;
}

export interface Trigger {
  signal: 'canary' | 'anomaly';
  value: number;
  threshold: number;
  reason: string;
}

interface SignalState {
  armed: boolean;
  breaches: number;
}

/** Decides when to roll back; holds no model, so tests drive it with constructed observations. */
export class RollbackController {
  private readonly canary: SignalState = { armed: true, breaches: 0 };
  private readonly anomaly: SignalState = { armed: true, breaches: 0 };
  private baseline: number | undefined;
  private lastRollback = -Infinity;
  private lastAutomatic = -Infinity;

  constructor(
    readonly policy: RollbackPolicy = {},
    private readonly now: () => number = () => Date.now(),
  ) {}

  private get consecutive(): number {
    return this.policy.consecutive ?? 2;
  }

  private coolingDown(): boolean {
    return this.now() - this.lastRollback < (this.policy.cooldownMs ?? 60_000);
  }

  /** The canary levels in force, once known. */
  canaryLevels(): { below: number; rearmAbove: number; baseline: number | undefined } | undefined {
    const p = this.policy.canary;
    if (p === false) return undefined;
    const below = p?.below ?? (this.baseline === undefined ? undefined : this.baseline - (p?.maxDrop ?? 0.2));
    if (below === undefined) return undefined;
    const rearmAbove = p?.rearmAbove ?? (this.baseline !== undefined && this.baseline > below ? (below + this.baseline) / 2 : below + 0.05);
    return { below, rearmAbove, baseline: this.baseline };
  }

  private step(state: SignalState, breached: boolean, recovered: boolean): boolean {
    if (!state.armed) {
      if (recovered) {
        state.armed = true;
        state.breaches = 0;
      }
      return false;
    }
    state.breaches = breached ? state.breaches + 1 : 0;
    if (state.breaches < this.consecutive || this.coolingDown()) return false;
    state.armed = false;
    state.breaches = 0;
    return true;
  }

  /** Feeds one canary result; returns a trigger when a rollback is due. */
  observeCanary(accuracy: number): Trigger | undefined {
    if (this.policy.canary === false) return undefined;
    if (this.baseline === undefined) this.baseline = accuracy;
    const levels = this.canaryLevels();
    if (!levels) return undefined;
    if (!this.step(this.canary, accuracy < levels.below, accuracy >= levels.rearmAbove)) return undefined;
    return {
      signal: 'canary',
      value: accuracy,
      threshold: levels.below,
      reason: `canary robust accuracy ${accuracy.toFixed(3)} below ${levels.below.toFixed(3)} for ${this.consecutive} runs`,
    };
  }

  /**
   * Feeds the current anomaly rate; returns a trigger when a rollback is due. `clients` is
   * the number of distinct clients behind the rate (a library caller without clients omits it).
   */
  observeAnomalyRate(rate: number, samples: number, clients?: number): Trigger | undefined {
    const p = this.policy.anomaly;
    if (p === false) return undefined;
    if (samples < (p?.minSamples ?? 50)) return undefined;
    if (clients !== undefined && clients < (p?.minClients ?? 5)) return undefined;
    const above = p?.above ?? 0.5;
    const rearmBelow = p?.rearmBelow ?? above / 2;
    if (!this.step(this.anomaly, rate > above, rate <= rearmBelow)) return undefined;
    return {
      signal: 'anomaly',
      value: rate,
      threshold: above,
      reason: `anomaly rate ${rate.toFixed(3)} above ${above} for ${this.consecutive} observations`,
    };
  }

  /** Call after a rollback happened (starts the cooldown; an automatic one also the operator window). */
  rolledBack(automatic = true): void {
    this.lastRollback = this.now();
    if (automatic) this.lastAutomatic = this.now();
  }

  /** True while an automatic rollback would be the second inside the operator window. */
  needsOperator(): boolean {
    const window = this.policy.operatorWindowMs ?? 0;
    return window > 0 && this.now() - this.lastAutomatic < window;
  }

  /** An operator acted (a manual rollback or a promotion): automatic rollbacks may act again. */
  operatorActed(): void {
    this.lastAutomatic = -Infinity;
  }

  state(): {
    canary: SignalState & { levels: ReturnType<RollbackController['canaryLevels']> };
    anomaly: SignalState;
    coolingDown: boolean;
    needsOperator: boolean;
  } {
    return {
      canary: { ...this.canary, levels: this.canaryLevels() },
      anomaly: { ...this.anomaly },
      coolingDown: this.coolingDown(),
      needsOperator: this.needsOperator(),
    };
  }
}

export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Sends alerts to the log and, when configured, as a JSON POST to a webhook. */
export function createAlerter(options: {
  webhook?: string;
  log: Logger;
  timeoutMs?: number;
  onAlert?: (kind: string) => void;
}): (kind: string, details: Record<string, unknown>) => Promise<void> {
  return async (kind, details) => {
    options.onAlert?.(kind);
    const payload = { source: 'rampart-serve', kind, at: new Date().toISOString(), ...details };
    options.log.warn({ event: 'alert', ...payload }, `alert: ${kind}`);
    if (!options.webhook) return;
    try {
      const response = await fetch(options.webhook, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(payload),
        signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
      });
      if (!response.ok)
        options.log.error({ event: 'alert-webhook-failed', status: response.status, kind }, 'alert webhook answered with an error');
    } catch (error) {
      options.log.error(
        { event: 'alert-webhook-failed', kind, error: error instanceof Error ? error.message : String(error) },
        'alert webhook unreachable',
      );
    }
  };
}

export interface RollbackOutcome {
  rolledBack: boolean;
  from: string;
  to?: string;
  reason: string;
  /** Why an automatic rollback was not made (no better model, or an operator is needed). */
  refused?: string;
}

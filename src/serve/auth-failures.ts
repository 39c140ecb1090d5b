/** The per-address budget of failed authentications (IPv6 grouped by /64). */
import { addressGroup } from '../defenses/rate-limit/index.js';

/** Failed authentications allowed per address (IPv6 by /64) in a window. */
export interface FailureBudget {
  max: number;
  timeWindowMs: number;
}

/**
 * Counts failed authentications per address group in fixed windows. An address past its
 * budget is refused (429) for every key until the window ends, valid or not: a check that
 * still let right keys through would go on answering the guesses. Memory is bounded by
 * `maxAddresses` (the least recently failing addresses are forgotten first).
 */
export class AuthFailures {
  private readonly windows = new Map<string, { count: number; resetAt: number }>();

  constructor(
    private readonly budget: FailureBudget,
    private readonly options: { maxAddresses?: number; now?: () => number } = {},
  ) {}

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  /** Seconds until `address` may try again, or undefined when it is under its budget. */
  blocked(address: string): number | undefined {
    const w = this.windows.get(addressGroup(address));
    const t = this.now();
    if (!w || t >= w.resetAt || w.count < this.budget.max) return undefined;
    return Math.max(1, Math.ceil((w.resetAt - t) / 1000));
  }

  /** Counts one failure from `address`. */
  record(address: string): void {
    const group = addressGroup(address);
    const t = this.now();
    let w = this.windows.get(group);
    this.windows.delete(group);
    if (!w || t >= w.resetAt) w = { count: 0, resetAt: t + this.budget.timeWindowMs };
    w.count++;
    this.windows.set(group, w);
    const max = this.options.maxAddresses ?? 100_000;
    while (this.windows.size > max) this.windows.delete(this.windows.keys().next().value as string);
  }
}

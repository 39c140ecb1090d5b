/** The contract every gradient-masking check follows, and the shared context they read. */
import type * as tf from '@tensorflow/tfjs';
import type { Attack } from '../../attacks/types.js';
import type { Classifier } from '../../models/classifier.js';
import type { ThreatModel } from '../../threats/threat-model.js';

export type CheckStatus = 'pass' | 'warn' | 'fail';

export interface MaskingCheckResult {
  /** Stable id, e.g. `iterative-beats-single-step`. */
  id: string;
  title: string;
  status: CheckStatus;
  /** The numbers the verdict rests on (success rates in [0, 1], counts, settings). */
  measured: Record<string, number | string | boolean | number[]>;
  /** What the result means and what to do about it, in a user's terms. */
  explanation: string;
}

/** Everything the checks share. Attack runs are memoised, so checks that need the same run pay once. */
export interface MaskingContext {
  readonly model: Classifier;
  /** The attacked examples: clean-correct ones, `[count, ...inputShape]`, owned by the runner. */
  readonly x: tf.Tensor;
  readonly labels: Int32Array;
  readonly count: number;
  /** The threat under evaluation. */
  readonly threat: ThreatModel;
  readonly seed: number;
  /** How much one success rate may trail another before it counts, in [0, 1]. */
  readonly margin: number;
  /** Gradient steps of the reference PGD run. */
  readonly pgdSteps: number;
  readonly shortSteps: number;
  readonly longSteps: number;
  readonly epsilonFactors: readonly number[];
  readonly randomSamples: number;
  readonly blackBox: { attack: Attack; source: string };
  readonly surrogate: Classifier | undefined;
  /**
   * Per-example success of `attack` at `threat`, crafted against `craftOn` (default: the
   * model) and judged by the model's own prediction at the returned point. Memoised by
   * `key`, the crafting model and the threat id, so `key` must name one attack
   * configuration: `'pgd'` is always `pgd({ steps: ctx.pgdSteps })`.
   */
  success(key: string, attack: Attack, threat: ThreatModel, craftOn?: Classifier): Promise<Uint8Array>;
  /** A threat like the evaluated one with another epsilon (clamped to the L∞ range). */
  threatAt(epsilon: number): ThreatModel;
}

export interface MaskingCheck {
  readonly id: string;
  readonly title: string;
  /** A reason the check cannot run with these inputs (e.g. no surrogate), else undefined. */
  skipReason?(ctx: MaskingContext): string | undefined;
  run(ctx: MaskingContext): Promise<MaskingCheckResult>;
}

/** Fraction of ones. */
export function rate(flags: Uint8Array): number {
  let s = 0;
  for (const f of flags) s += f;
  return flags.length === 0 ? 0 : s / flags.length;
}

/** Success rates are reported rounded so that reports stay readable and stable. */
export function round(v: number): number {
  return Math.round(v * 1e4) / 1e4;
}

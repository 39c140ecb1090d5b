/**
 * Summary numbers for a text attack run, defined as TextAttack (Morris et al. 2020) reports
 * them so that figures compare with the literature: success rate and query/perturbation
 * averages over the examples the model got right (the ones there was something to attack),
 * accuracy under attack over all examples.
 */
import type { TextThreatModel } from '../../threats/text-threat.js';
import type { TextAttack, TextAttackResult, TextAttackRunOptions } from './types.js';
import type { TextClassifier } from '../../models/text/text-classifier.js';
import { InputError } from '../../core/errors.js';

export interface TextAttackMetrics {
  examples: number;
  /** Share of examples classified correctly before the attack. */
  cleanAccuracy: number;
  /** Share of correctly classified examples the attack flipped (0 when there are none). */
  attackSuccessRate: number;
  /** Share of all examples still classified correctly after the attack. */
  accuracyUnderAttack: number;
  /** Mean percentage of words changed, over successful attacks on correct examples. */
  perturbedWordPercent: number;
  /** Queries per attacked (correct) example. */
  meanQueries: number;
  medianQueries: number;
  /** Wall time of the run, when measured. */
  timeMs: number;
  /** Wall time per example. */
  msPerExample: number;
}

function median(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function mean(values: number[]): number {
  return values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;
}

/**
 * Computes the summary of a result.
 *
 * @throws InputError `E_TEXT_RESULT` when the result's arrays disagree in length.
 * @example textAttackMetrics(result, 1200).attackSuccessRate
 */
export function textAttackMetrics(result: TextAttackResult, timeMs = 0): TextAttackMetrics {
  const n = result.adversarial.length;
  for (const [name, length] of Object.entries({
    success: result.success.length,
    queries: result.queries.length,
    changedWordFraction: result.changedWordFraction.length,
    changes: result.changes.length,
    originalCorrect: result.originalCorrect.length,
  })) {
    if (length !== n)
      throw new InputError(
        'E_TEXT_RESULT',
        `Text attack result: ${name} has ${length} entries for ${n} texts; pass an unmodified TextAttackResult.`,
        { details: { field: name, length, expected: n } },
      );
  }
  const attacked: number[] = [];
  for (let i = 0; i < n; i++) if (result.originalCorrect[i]) attacked.push(i);
  const flipped = attacked.filter((i) => result.success[i]);
  let survived = 0;
  for (let i = 0; i < n; i++) if (!result.success[i]) survived++;
  return {
    examples: n,
    cleanAccuracy: n === 0 ? 0 : attacked.length / n,
    attackSuccessRate: attacked.length === 0 ? 0 : flipped.length / attacked.length,
    accuracyUnderAttack: n === 0 ? 0 : survived / n,
    perturbedWordPercent: 100 * mean(flipped.map((i) => result.changedWordFraction[i] as number)),
    meanQueries: mean(attacked.map((i) => result.queries[i] as number)),
    medianQueries: median(attacked.map((i) => result.queries[i] as number)),
    timeMs,
    msPerExample: n === 0 ? 0 : timeMs / n,
  };
}

/**
 * Runs an attack and times it: the result and its metrics in one call.
 *
 * @throws whatever `attack.run` throws (InputError, GradientError).
 * @example const { metrics } = await measureTextAttack(createTextAttack('greedy'), model, texts, labels, threat);
 */
export async function measureTextAttack(
  attack: TextAttack,
  model: TextClassifier,
  texts: string[],
  labels: Int32Array,
  threat: TextThreatModel,
  options?: TextAttackRunOptions,
): Promise<{ result: TextAttackResult; metrics: TextAttackMetrics }> {
  const start = performance.now();
  const result = await attack.run(model, texts, labels, threat, options);
  return { result, metrics: textAttackMetrics(result, performance.now() - start) };
}

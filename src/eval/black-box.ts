/**
 * Evaluating a target without gradients (onnxruntime, an HTTP endpoint): only the attacks it
 * can answer run (Square on scores, HopSkipJump on labels), so every robust accuracy is an
 * upper bound from black-box attacks only, and the checks that need gradients (masking
 * checks, the PGD comparison) are skipped with that reason. One place says so, so the CLI
 * and the pipeline report it in the same words.
 */
import { accessSuffices, ATTACK_ACCESS } from '../attacks/access.js';
import { accessOf, type Classifier } from '../models/classifier.js';
import type { SuiteDefinition } from './suite.js';

/** Why gradient-based checks are skipped, and what the numbers then mean. */
export function blackBoxNote(model: Pick<Classifier, 'id' | 'access' | 'differentiable'>): string {
  return (
    `Model '${model.id}' answers ${accessOf(model)} only (no gradients): robust accuracy is an upper bound from black-box attacks ` +
    'only (the suite runs its score-based Square stage), and the gradient-masking checks and the PGD comparison are skipped.'
  );
}

/** True when the target offers input gradients (white box). */
export function hasGradients(model: Pick<Classifier, 'access' | 'differentiable'>): boolean {
  return accessOf(model) === 'gradients';
}

/**
 * The suite's stages the target can answer (for a score-only target, Square), as a suite of
 * the same id, version and variant, and the stage ids left out.
 *
 * @example const { suite: runnable, dropped } = suiteForTarget(suiteDefinition('standard', 'quick'), onnxruntimeModel);
 */
export function suiteForTarget(
  suite: SuiteDefinition,
  model: Pick<Classifier, 'access' | 'differentiable'>,
): { suite: SuiteDefinition; dropped: string[] } {
  const offered = accessOf(model);
  const runs = (attack: string): boolean => {
    const needed = (ATTACK_ACCESS as Record<string, (typeof ATTACK_ACCESS)[keyof typeof ATTACK_ACCESS] | undefined>)[attack];
    return needed !== undefined && accessSuffices(offered, needed);
  };
  const stages = suite.stages.filter((s) => runs(s.attack));
  return { suite: { ...suite, stages }, dropped: suite.stages.filter((s) => !runs(s.attack)).map((s) => s.id) };
}

/** The attacks of `ids` the target can answer, and those it cannot. */
export function attacksForTarget(
  ids: readonly string[],
  model: Pick<Classifier, 'access' | 'differentiable'>,
): { runnable: string[]; dropped: string[] } {
  const offered = accessOf(model);
  const ok = (id: string): boolean => {
    const needed = (ATTACK_ACCESS as Record<string, (typeof ATTACK_ACCESS)[keyof typeof ATTACK_ACCESS] | undefined>)[id];
    return needed === undefined || accessSuffices(offered, needed);
  };
  return { runnable: ids.filter(ok), dropped: ids.filter((id) => !ok(id)) };
}

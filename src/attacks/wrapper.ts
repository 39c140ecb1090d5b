/**
 * The one wrapper every image attack runs through. It owns what each attack used to copy:
 * the default goal, the input checks, the access check (a gradient attack refuses a model
 * without gradients), the norm lookup, and after the search the checks that the result
 * keeps the contract — inside the epsilon-ball and the input bounds — with the reported
 * perturbation measured here, once, in the threat's norm. An attack supplies only its
 * search, as a function of an {@link AttackContext}.
 */
import * as tf from '@tensorflow/tfjs';
import { RampartError, UsageError, listChoices } from '../core/errors.js';
import { sizeOf } from '../core/types.js';
import type { Classifier } from '../models/classifier.js';
import { budgetedTarget, queryBudgetOf } from '../models/http/budget.js';
import { NORM_IDS, getNorm, type Norm, type ThreatNormId } from '../threats/norms.js';
import type { ThreatModel } from '../threats/threat-model.js';
import type { Attack, AttackProgress, AttackResult, AttackRunOptions, RowWindow } from './types.js';
import type { AttackAccess } from './access.js';
import { assertTargetAccess, validateAttackInputs } from './validate.js';

export type { AttackAccess } from './access.js';

/** Everything the start-up block resolves, handed to the attack's search. */
export interface AttackContext {
  readonly model: Classifier;
  readonly x: tf.Tensor;
  readonly labels: Int32Array;
  readonly threat: ThreatModel;
  readonly norm: Norm;
  readonly targeted: boolean;
  /** Per example, the class the goal refers to: the true label, or the target when targeted. */
  readonly goalClasses: Int32Array;
  /** Batch size. */
  readonly n: number;
  /** Values per example. */
  readonly rowSize: number;
  /** The clean batch, row-major, read once; never write to it (copy with `Float32Array.from`). */
  readonly clean: Float32Array;
  readonly seed: number;
  /** These rows' place in the seeded batch their random draws come from (a pool's split shard). */
  readonly window?: RowWindow;
  /**
   * The target's per-example query budget (HTTP endpoints may declare one): query attacks
   * stop an example once it is spent. `model` then refuses more than `n` times it in total.
   */
  readonly queryBudget?: number;
  readonly onProgress: (progress: AttackProgress) => void;
}

/** What a search returns; the wrapper adds the measured perturbation. */
export interface AttackOutcome {
  /** `[batch, ...inputShape]`; handed on to the caller, or disposed when it breaks the contract. */
  adversarial: tf.Tensor;
  success: Uint8Array;
  queries: Int32Array;
  minNorm?: Float32Array;
}

/** A search with its resolved configuration. */
export type AttackSearch<C> = (context: AttackContext, config: C) => Promise<AttackOutcome>;

/** An attack as a plain function of the model, the batch, the threat and its configuration. */
export type AttackRunner<C> = (
  model: Classifier,
  x: tf.Tensor,
  labels: Int32Array,
  threat: ThreatModel,
  config: C,
  options?: AttackRunOptions,
) => Promise<AttackResult>;

/**
 * The final check of a result and its measured perturbation per example; throws
 * `E_ATTACK_CONTRACT` when a point breaks the threat. The default checks the ball and the
 * bounds; tabular attacks check their constraints.
 */
export type AttackMeasure = (name: string, context: AttackContext, adversarial: tf.Tensor) => Promise<Float32Array>;

/** Relative and absolute slack of the final budget check: float rounding of a projection. */
const BUDGET_SLACK = { relative: 1e-5, absolute: 1e-6 };

/**
 * Checks the result against the threat and measures its perturbation.
 *
 * @throws RampartError `E_ATTACK_CONTRACT` (internal) when a point leaves the ball or the bounds.
 */
async function measure(name: string, context: AttackContext, adversarial: tf.Tensor): Promise<Float32Array> {
  const { threat, norm, x } = context;
  const measured = tf.tidy(() => [norm.distance(tf.sub(adversarial, x)), tf.min(adversarial), tf.max(adversarial)]);
  const [distance, low, high] = measured as [tf.Tensor, tf.Tensor, tf.Tensor];
  const perturbation = (await distance.data()) as Float32Array;
  const min = (await low.data())[0] as number;
  const max = (await high.data())[0] as number;
  for (const t of [distance, low, high]) t.dispose();
  const budget = threat.epsilon * (1 + BUDGET_SLACK.relative) + BUDGET_SLACK.absolute;
  const worst = perturbation.reduce((a, v) => Math.max(a, v), 0);
  const { bounds } = threat;
  const slack = BUDGET_SLACK.absolute * (bounds.max - bounds.min);
  if (!(worst <= budget) || min < bounds.min - slack || max > bounds.max + slack) {
    throw new RampartError(
      'E_ATTACK_CONTRACT',
      'internal',
      `Attack '${name}' returned points outside the threat: largest perturbation ${worst} against epsilon ${threat.epsilon}, ` +
        `values in [${min}, ${max}] against bounds [${bounds.min}, ${bounds.max}]; this is a bug in the attack, please report it.`,
      { details: { attack: name, worst, epsilon: threat.epsilon, min, max, bounds } },
    );
  }
  return perturbation;
}

/** @throws UsageError `E_ATTACK_WINDOW` unless the `n` rows fit at `offset` in a batch of `of` rows. */
function checkedWindow(name: string, window: RowWindow, n: number): RowWindow {
  const { offset, of } = window;
  if (!Number.isInteger(offset) || !Number.isInteger(of) || offset < 0 || offset + n > of) {
    throw new UsageError(
      'E_ATTACK_WINDOW',
      `Attack '${name}' was given rows [${offset}, ${offset + n}) of a batch of ${of}; pass whole-number offsets that fit in the batch.`,
      { details: { attack: name, offset, of, rows: n } },
    );
  }
  return { offset, of };
}

/**
 * Wraps a search into a runner that does the start-up and final checks.
 *
 * @throws InputError for a batch, labels or targets that do not fit the model (see validateAttackInputs).
 * @throws GradientError `E_NOT_DIFFERENTIABLE` when a gradient attack meets a model without gradients;
 *   UsageError `E_LABELS_ONLY` when a score attack meets a label-only target (both name the attacks that can run).
 * @throws UsageError `E_THREAT_NORM` for a threat whose norm the attack does not search in (`norms`).
 * @throws RampartError `E_ATTACK_CONTRACT` when the search broke the threat (a bug).
 * @example export const pgdRunner = wrapAttack('pgd', 'gradients', gradientDescentSearch);
 */
export function wrapAttack<C>(
  name: string,
  access: AttackAccess,
  search: AttackSearch<C>,
  norms: readonly ThreatNormId[] = NORM_IDS,
  check: AttackMeasure = measure,
): AttackRunner<C> {
  return async (model, x, labels, threat, config, options = {}) => {
    if (!norms.includes(threat.norm)) {
      // Refused up front: an L∞ search under a patch budget would only be cut back by the final check.
      throw new UsageError(
        'E_THREAT_NORM',
        `Attack '${name}' searches under ${listChoices(norms)} threats, not '${threat.id}' (${threat.norm}); ` +
          'pick an attack for that threat (attacksForThreat lists them).',
        { details: { attack: name, norm: threat.norm, valid: norms } },
      );
    }
    const goal = options.goal ?? { kind: 'untargeted' };
    const goalClasses = await validateAttackInputs(model, x, labels, threat, goal);
    assertTargetAccess(model, name, access);
    const onProgress = options.onProgress ?? (() => undefined);
    const norm = getNorm(threat.norm);
    const clean = (await x.data()) as Float32Array;
    const n = labels.length;
    const targeted = goal.kind === 'targeted';
    const rowSize = sizeOf(model.inputShape);
    const seed = options.seed ?? 0;
    const window = options.window === undefined ? undefined : checkedWindow(name, options.window, labels.length);
    const queryBudget = queryBudgetOf(model);
    const target = queryBudget === undefined ? model : budgetedTarget(model, n * queryBudget, queryBudget);
    const context: AttackContext = {
      model: target,
      x,
      labels,
      threat,
      norm,
      targeted,
      goalClasses,
      n,
      rowSize,
      clean,
      seed,
      onProgress,
      ...(queryBudget === undefined ? {} : { queryBudget }),
      ...(window === undefined ? {} : { window }),
    };
    const outcome = await search(context, config);
    try {
      const perturbation = await check(name, context, outcome.adversarial);
      return { ...outcome, perturbation };
    } catch (error) {
      outcome.adversarial.dispose();
      throw error;
    }
  };
}

/**
 * An {@link Attack} value: an id, its resolved configuration and a runner bound to it.
 *
 * @example return attackOf('pgd', config, gradientDescentAttack);
 */
export function attackOf<C extends object>(id: string, config: C, runner: AttackRunner<C>): Attack {
  return { id, config, run: (model, x, labels, threat, options) => runner(model, x, labels, threat, config, options) };
}

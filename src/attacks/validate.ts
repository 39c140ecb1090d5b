/**
 * Edge checks shared by every attack: the batch, the labels and the goal must fit the model,
 * and the model must answer what the attack reads (gradients, scores or labels).
 */
import * as tf from '@tensorflow/tfjs';
import { GradientError, InputError, UsageError, listChoices } from '../core/errors.js';
import type { Classifier } from '../models/classifier.js';
import { accessOf, assertBatchShape } from '../models/classifier.js';
import { accessSuffices, attacksRunnableWith, type AttackAccess } from './access.js';
import type { ThreatModel } from '../threats/threat-model.js';
import type { AttackGoal } from './types.js';

/**
 * Checks one class index per example, each in `[0, numClasses)`.
 *
 * @throws InputError `E_LABELS_LENGTH` or `E_LABEL_RANGE`.
 */
export function assertLabels(values: Int32Array, batch: number, numClasses: number, what = 'label'): void {
  if (values.length !== batch) {
    throw new InputError('E_LABELS_LENGTH', `Got ${values.length} ${what} for a batch of ${batch}; give one per example.`, {
      details: { labels: values.length, batch },
    });
  }
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (!Number.isInteger(v) || v < 0 || v >= numClasses) {
      throw new InputError('E_LABEL_RANGE', `${what} ${i} is ${v}; valid classes are 0..${numClasses - 1}.`, {
        details: { index: i, value: v },
      });
    }
  }
}

/**
 * Validates an attack's inputs and returns the per-example class the goal refers to (the
 * true label when untargeted, the target when targeted).
 *
 * @throws InputError `E_INPUT_SHAPE`, `E_LABELS_LENGTH`, `E_LABEL_RANGE`, `E_NON_FINITE`,
 *   `E_OUT_OF_BOUNDS` or `E_TARGET_IS_LABEL`.
 */
export async function validateAttackInputs(
  model: Pick<Classifier, 'id' | 'inputShape' | 'numClasses'>,
  x: tf.Tensor,
  labels: Int32Array,
  threat: ThreatModel,
  goal: AttackGoal,
): Promise<Int32Array> {
  assertBatchShape(model, x.shape);
  const batch = x.shape[0] as number;
  assertLabels(labels, batch, model.numClasses, 'label');
  const [min, max, finite] = await Promise.all(
    tf
      .tidy(() => [tf.min(x), tf.max(x), tf.all(tf.isFinite(x))])
      .map(async (t) => {
        const v = (await t.data())[0] as number;
        t.dispose();
        return v;
      }),
  );
  if (!finite) throw new InputError('E_NON_FINITE', 'The input batch holds NaN or infinite values; clean the data before attacking.');
  const { bounds } = threat;
  const slack = 1e-6 * (bounds.max - bounds.min);
  if ((min as number) < bounds.min - slack || (max as number) > bounds.max + slack) {
    throw new InputError(
      'E_OUT_OF_BOUNDS',
      `Input values span [${min}, ${max}] but the threat's bounds are [${bounds.min}, ${bounds.max}]; scale the data or set the bounds.`,
      { details: { min, max, bounds } },
    );
  }
  if (goal.kind === 'untargeted') return labels;
  assertLabels(goal.targets, batch, model.numClasses, 'target');
  for (let i = 0; i < batch; i++) {
    if (goal.targets[i] === labels[i]) {
      throw new InputError(
        'E_TARGET_IS_LABEL',
        `Target ${i} equals the true label ${labels[i]}; a targeted attack needs a different class.`,
        { details: { index: i } },
      );
    }
  }
  return goal.targets;
}

/**
 * Checks that `model` offers the access an attack needs; the error names the registered
 * attacks that can run against it.
 *
 * @throws GradientError `E_NOT_DIFFERENTIABLE` when a gradient attack meets a score or label target.
 * @throws UsageError `E_LABELS_ONLY` when a score attack meets a label-only target.
 * @example assertTargetAccess(model, 'square', 'scores');
 */
export function assertTargetAccess(
  model: Pick<Classifier, 'id' | 'access' | 'differentiable'>,
  attack: string,
  needed: AttackAccess,
): void {
  const offered = accessOf(model);
  if (accessSuffices(offered, needed)) return;
  const runnable = attacksRunnableWith(offered);
  const details = { attack, model: model.id, offered, needed, runnable };
  const use = `use a ${offered === 'labels' ? 'decision-based' : 'black-box'} attack (${listChoices(runnable)}) against it`;
  if (needed === 'gradients') {
    throw new GradientError(
      'E_NOT_DIFFERENTIABLE',
      `Model '${model.id}' exposes no gradients (only ${offered}), which ${attack} needs; ${use}.`,
      {
        details,
      },
    );
  }
  throw new UsageError('E_LABELS_ONLY', `Model '${model.id}' answers labels only, but ${attack} reads scores; ${use}.`, { details });
}

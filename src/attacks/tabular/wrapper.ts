/**
 * The wrapper of every tabular attack, on top of the shared one: it resolves the threat's
 * constraints (a plain threat reads as the ball and the bounds), refuses clean rows that
 * already break them and targets that offer less access than the attack needs, hands the
 * search the projection and the scaled norm, and checks every adversarial example against
 * the constraints afterwards — a violation is `E_ATTACK_CONTRACT`, a bug in the attack.
 */
import type * as tf from '@tensorflow/tfjs';
import { InputError, RampartError, UsageError } from '../../core/errors.js';
import { TARGET_ACCESS, accessOf } from '../../models/classifier.js';
import { checkRows, describeViolations } from '../../threats/tabular/check.js';
import type { TabularConstraints } from '../../threats/tabular/compile.js';
import { projection, scaledDistance, scaledNorm, type Projection } from '../../threats/tabular/project.js';
import { constraintsOf } from '../../threats/tabular/threat.js';
import { wrapAttack, type AttackAccess, type AttackContext, type AttackOutcome, type AttackRunner } from '../wrapper.js';

/** The shared context, with the constraints' scaled norm as `norm`, the constraints and their projection. */
export interface TabularContext extends AttackContext {
  readonly constraints: TabularConstraints;
  readonly project: Projection;
}

export type TabularSearch<C> = (context: TabularContext, config: C) => Promise<AttackOutcome>;

function resolve(name: string, context: AttackContext): TabularConstraints {
  const c = constraintsOf(context.threat, context.rowSize);
  if (c.features !== context.rowSize) {
    throw new InputError(
      'E_TABULAR_FEATURES',
      `Threat '${context.threat.id}' constrains ${c.features} features but model '${context.model.id}' takes rows of ${context.rowSize}; ` +
        'compile the constraints against the data the model was trained on.',
      { details: { attack: name, constraints: c.features, row: context.rowSize } },
    );
  }
  return c;
}

async function checkConstraints(name: string, context: AttackContext, adversarial: tf.Tensor): Promise<Float32Array> {
  const c = resolve(name, context);
  const points = (await adversarial.data()) as Float32Array;
  const violations = checkRows(c, context.clean, points, context.n);
  if (violations.length > 0) {
    throw new RampartError(
      'E_ATTACK_CONTRACT',
      'internal',
      `Attack '${name}' returned ${violations.length} constraint violation(s) under threat '${context.threat.id}': ` +
        `${describeViolations(violations)}; this is a bug in the attack, please report it.`,
      { details: { attack: name, threat: context.threat.id, violations: violations.slice(0, 20) } },
    );
  }
  const delta = new Float64Array(c.features);
  return Float32Array.from({ length: context.n }, (_, i) => {
    for (let f = 0; f < c.features; f++) delta[f] = (points[i * c.features + f] as number) - (context.clean[i * c.features + f] as number);
    return scaledDistance(c, delta);
  });
}

/**
 * Wraps a tabular search into a runner with the shared start-up and the constraint check.
 *
 * @throws InputError `E_TABULAR_FEATURES` when the constraints do not fit the row size,
 *   `E_CONSTRAINT_INPUT` when clean rows already break a range, integer or one-hot rule.
 * @throws UsageError `E_TARGET_ACCESS` when the target offers less than `access`.
 * @throws RampartError `E_ATTACK_CONTRACT` when an adversarial example breaks a constraint (a bug).
 * @example export const tabularPgdAttack = wrapTabularAttack('tabular-pgd', 'gradients', search);
 */
export function wrapTabularAttack<C>(name: string, access: AttackAccess, search: TabularSearch<C>): AttackRunner<C> {
  return wrapAttack<C>(
    name,
    access,
    async (context, config) => {
      const offered = accessOf(context.model);
      if (TARGET_ACCESS.indexOf(offered) > TARGET_ACCESS.indexOf(access)) {
        throw new UsageError(
          'E_TARGET_ACCESS',
          `Attack '${name}' needs ${access} but model '${context.model.id}' offers ${offered} only; use tabular-random-search on score targets.`,
          { details: { attack: name, needs: access, offers: offered } },
        );
      }
      const c = resolve(name, context);
      const broken = checkRows(c, context.clean, context.clean, context.n);
      if (broken.length > 0) {
        throw new InputError(
          'E_CONSTRAINT_INPUT',
          `Clean rows already break threat '${context.threat.id}': ${describeViolations(broken)}; fix the data or the declared ranges, integer and one-hot groups.`,
          { details: { threat: context.threat.id, violations: broken.slice(0, 20) } },
        );
      }
      return search({ ...context, norm: scaledNorm(c), constraints: c, project: projection(c) }, config);
    },
    ['linf', 'l2'],
    checkConstraints,
  );
}

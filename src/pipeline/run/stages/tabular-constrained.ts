/**
 * The tabular channel's constrained evaluation: the plan's tabular threats compiled against
 * the CSV's header (constraints with the threat's norm and epsilon as the overall budget),
 * and one model measured under them — clean and balanced accuracy over the test rows, then
 * the worst case over the section's attacks on the rows of `attackClasses`. Every
 * adversarial example is checked against its threat's constraints here too, not only in
 * the attack wrapper, so a violation fails the stage whichever attack produced it.
 */
import * as tf from '@tensorflow/tfjs';
import { createAttack } from '../../../attacks/registry.js';
import { RampartError, ThreatError } from '../../../core/errors.js';
import type { Dataset } from '../../../core/types.js';
import { subset, takeFirst } from '../../../data/index.js';
import { rateOf, type Rate } from '../../../eval/rate.js';
import type { Classifier } from '../../../models/classifier.js';
import { checkRows, describeViolations } from '../../../threats/tabular/check.js';
import { constraintsOf, tabularThreat } from '../../../threats/tabular/threat.js';
import { threatModel, type ThreatModel } from '../../../threats/threat-model.js';
import { requireTabularSection } from '../../plan/channels.js';
import type { Plan, TabularThreatScenario } from '../../plan/schema.js';

/** One model's numbers on the test split. */
export interface ConstrainedNumbers {
  clean: Rate;
  /** Mean of the per-class recalls on clean rows. */
  balancedAccuracy: number;
  /** Recall of each class on clean rows. */
  recall: number[];
  /** Per tabular threat: the attacked rows still classified correctly under every attack. */
  robust: Record<string, Rate>;
  /** Per threat and attack: the attacked rows still correct after that attack alone. */
  perAttack: Record<string, Record<string, number>>;
  /** Adversarial examples checked against their constraints (all passed). */
  checked: number;
}

/** A threat scenario of the plan with the goal the attacks pursue. */
export interface CompiledThreat {
  threat: ThreatModel;
  goal: TabularThreatScenario['goal'];
  target?: number;
}

/**
 * The plan's tabular threats as threat models over `data`'s features: constrained ones
 * compiled against its header, plain ones as an L∞/L2 ball inside the data's bounds.
 *
 * @throws ThreatError `E_TABULAR_CONSTRAINTS` naming the threat and listing the CSV header, for
 *   a constraint on a feature the CSV lacks (or any other constraint the data cannot satisfy).
 * @example const threats = compileTabularThreats(plan, train);
 */
export function compileTabularThreats(plan: Plan, data: Dataset): CompiledThreat[] {
  const header = data.featureNames ?? [];
  return plan.threats
    .filter((t): t is TabularThreatScenario => t.channel === 'tabular')
    .map((t) => {
      const goal = { goal: t.goal, ...(t.target === undefined ? {} : { target: t.target }) };
      if (!t.constraints) return { threat: threatModel({ id: t.id, norm: t.norm, epsilon: t.epsilon, bounds: data.bounds }), ...goal };
      const { scale, ...rest } = t.constraints;
      try {
        const threat = tabularThreat(
          { id: t.id, constraints: { ...rest, norm: { kind: t.norm, epsilon: t.epsilon, scale } } },
          { features: data.shape[0] as number, featureNames: header, featureBounds: data.featureBounds, bounds: data.bounds },
        );
        return { threat, ...goal };
      } catch (error) {
        if (!(error instanceof ThreatError)) throw error;
        throw new ThreatError(
          error.code,
          `threats.${t.id}.constraints: ${error.message} The CSV's feature columns are: ${header.join(', ')}; ` +
            'name features as its header does (the label and ignored columns are not features).',
          { cause: error, details: { ...error.details, threat: t.id, header } },
        );
      }
    });
}

async function predict(model: Classifier, x: Float32Array, rows: Dataset): Promise<Int32Array> {
  const z = tf.tidy(() => tf.argMax(model.logits(tf.tensor(x, [rows.count, ...rows.shape])), 1));
  const p = Int32Array.from(await z.data());
  z.dispose();
  return p;
}

/** The rows the attacks perturb: the test rows of `attackClasses` (all when unset), the first `limit`. */
export function attackedRows(plan: Plan, test: Dataset): Dataset {
  const section = requireTabularSection(plan);
  const classes = section.attackClasses;
  const chosen = classes
    ? subset(
        test,
        Array.from(test.y.keys()).filter((i) => classes.includes(test.y[i] as number)),
        `${test.name}/attacked`,
      )
    : test;
  return section.limit < chosen.count ? takeFirst(chosen, section.limit) : chosen;
}

/**
 * Measures `model` on the test rows and, for every threat, the worst case over the section's attacks.
 *
 * @throws RampartError `E_ATTACK_CONTRACT` when an adversarial example breaks its threat's constraints.
 * @example const numbers = await measureConstrained(plan, model, test, threats);
 */
export async function measureConstrained(
  plan: Plan,
  model: Classifier,
  test: Dataset,
  threats: readonly CompiledThreat[],
  onLine: (line: string) => void = () => undefined,
): Promise<ConstrainedNumbers> {
  const section = requireTabularSection(plan);
  const p = await predict(model, test.x, test);
  const hits = new Array<number>(test.numClasses).fill(0);
  const counts = new Array<number>(test.numClasses).fill(0);
  test.y.forEach((label, i) => {
    counts[label] = (counts[label] as number) + 1;
    if (p[i] === label) hits[label] = (hits[label] as number) + 1;
  });
  const present = counts.flatMap((n, c) => (n > 0 ? [(hits[c] as number) / n] : []));
  const recall = counts.map((n, c) => (n > 0 ? (hits[c] as number) / n : 0));
  const rows = attackedRows(plan, test);
  const robust: Record<string, Rate> = {};
  const perAttack: Record<string, Record<string, number>> = {};
  let checked = 0;
  const clean = await predict(model, rows.x, rows);
  for (const { threat, goal, target } of threats) {
    const c = constraintsOf(threat, rows.shape[0] as number);
    const still = Uint8Array.from(clean, (label, r) => (label === rows.y[r] ? 1 : 0));
    perAttack[threat.id] = {};
    for (const spec of section.attacks) {
      const x = tf.tensor(rows.x, [rows.count, ...rows.shape]);
      const targets = new Int32Array(rows.count).fill(target ?? 0);
      const result = await createAttack(spec.id, spec.options ?? {}).run(model, x, rows.y, threat, {
        goal: goal === 'targeted' ? { kind: 'targeted', targets } : { kind: 'untargeted' },
        seed: plan.seed,
      });
      x.dispose();
      const adversarial = Float32Array.from((await result.adversarial.data()) as Float32Array);
      result.adversarial.dispose();
      const violations = checkRows(c, rows.x, adversarial, rows.count);
      if (violations.length > 0) {
        throw new RampartError(
          'E_ATTACK_CONTRACT',
          'internal',
          `Attack '${spec.id}' returned ${violations.length} constraint violation(s) under threat '${threat.id}': ` +
            `${describeViolations(violations)}; this is a bug in the attack, please report it.`,
          { details: { attack: spec.id, threat: threat.id, violations: violations.slice(0, 20) } },
        );
      }
      checked += rows.count;
      // A fresh prediction, not the attack's own flags, decides what still counts as correct.
      const q = await predict(model, adversarial, rows);
      let alone = 0;
      q.forEach((label, r) => {
        if (label !== rows.y[r]) still[r] = 0;
        else if (clean[r] === rows.y[r]) alone++;
      });
      (perAttack[threat.id] as Record<string, number>)[spec.id] = rows.count > 0 ? alone / rows.count : 0;
      onLine(`${threat.id} / ${spec.id}: ${alone} of ${rows.count} attacked rows still correct`);
    }
    robust[threat.id] = rateOf(
      still.reduce((a, b) => a + b, 0),
      rows.count,
    );
  }
  return {
    clean: rateOf(
      hits.reduce((a, b) => a + b, 0),
      test.count,
    ),
    balancedAccuracy: present.length > 0 ? present.reduce((a, b) => a + b, 0) / present.length : 0,
    recall,
    robust,
    perAttack,
    checked,
  };
}

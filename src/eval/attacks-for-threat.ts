/**
 * The threat decides the attacks. A plan threat's `technique` says what the adversary can
 * reach — gradients (white-box), scores, labels only, or a surrogate whose examples
 * transfer — and its norm says what it may change; the evaluation runs the attacks that
 * adversary has, no stronger and no weaker. Its `goal` (kept on the threat) makes the
 * same attacks targeted: the evaluation hands them the target class.
 */
import { UsageError } from '../core/errors.js';
import { attackNorms, createAttack } from '../attacks/registry.js';
import { transferAttack } from '../attacks/image/transfer.js';
import type { Classifier } from '../models/classifier.js';
import { isSparseNorm } from '../threats/norms.js';
import type { ThreatModel } from '../threats/threat-model.js';
import type { AttackSpec, EvalAttack } from './robustness.js';

export interface AttacksForThreatOptions {
  /** The white-box attacks of a gradient threat (the plan's `evaluation.attacks`); default PGD. */
  gradient?: readonly AttackSpec[];
  /** The adversary's own model, for `transfer` threats. Without one, see {@link attacksForThreat}. */
  surrogate?: Classifier;
  /** Query budget of the score- and decision-based attacks (default 1000 and 500 per example). */
  queries?: number;
}

/** The attacks of a threat, and why: what the report says about how the threat was evaluated. */
export interface ThreatAttacks {
  attacks: EvalAttack[];
  /** One sentence: which adversary these attacks stand for. */
  note: string;
}

/** The attacks of a sparse/local threat, by its norm and what the adversary can reach. */
function sparseAttacks(threat: ThreatModel, whiteBox: boolean): EvalAttack[] {
  if (threat.norm === 'l0') return whiteBox ? [{ id: 'sparse-l0' }] : [];
  const occlusion: AttackSpec[] = [{ id: 'occlusion' }, { id: 'occlusion', options: { mode: 'random', fill: 'black' } }];
  if (threat.norm === 'occlusion') return occlusion;
  return whiteBox ? [{ id: 'patch' }, { id: 'occlusion' }] : [{ id: 'occlusion' }];
}

/**
 * The attacks that evaluate `threat`:
 * - `gradient` (or none): the given white-box attacks (PGD by default);
 * - `score-based`: the Square attack (reads scores only);
 * - `decision-based`: HopSkipJump (reads labels only);
 * - `transfer`: PGD on the surrogate, judged on the target. Without a surrogate the threat
 *   is evaluated white-box, a stronger adversary, so the robustness reported is a lower
 *   bound of the transfer robustness (the note says so);
 * - sparse threats: `l0` the sparse-L0 attack, `patch` the adversarial patch and the
 *   occlusion sweep, `occlusion` worst-case and random boxes (score-based ones only for
 *   adversaries without gradients).
 * Attacks that do not search under the threat's norm are left out.
 *
 * @throws UsageError `E_UNKNOWN_ATTACK` / `E_ATTACK_OPTION` for a bad gradient attack spec.
 * @throws UsageError `E_THREAT_NO_ATTACK` when no attack fits (e.g. a decision-based l0 threat).
 * @example const { attacks } = attacksForThreat(threatModel({ norm: 'linf', epsilon: 0.1, technique: 'score-based' }));
 */
export function attacksForThreat(threat: ThreatModel, options: AttacksForThreatOptions = {}): ThreatAttacks {
  const technique = threat.technique ?? 'gradient';
  const gradient = options.gradient && options.gradient.length > 0 ? [...options.gradient] : [{ id: 'pgd' }];
  // A live attack (a transfer attack) was built for this threat; a spec must search under its norm.
  const fits = (a: EvalAttack): boolean => 'run' in a || attackNorms(a.id).includes(threat.norm);
  let chosen: ThreatAttacks;
  if (isSparseNorm(threat.norm)) {
    const whiteBox = technique === 'gradient' || (technique === 'transfer' && !options.surrogate);
    chosen = { attacks: sparseAttacks(threat, whiteBox), note: `${threat.norm} threat, ${technique} adversary` };
  } else if (technique === 'score-based') {
    chosen = { attacks: [{ id: 'square', options: { queries: options.queries ?? 1000 } }], note: 'score-based adversary: Square attack' };
  } else if (technique === 'decision-based') {
    chosen = { attacks: [{ id: 'hsj', options: { queries: options.queries ?? 500 } }], note: 'decision-based adversary: HopSkipJump' };
  } else if (technique === 'transfer' && options.surrogate) {
    chosen = {
      attacks: [transferAttack(options.surrogate, createAttack('pgd', { steps: 20 }))],
      note: `transfer adversary: PGD on surrogate '${options.surrogate.id}', judged on the target`,
    };
  } else if (technique === 'transfer') {
    chosen = { attacks: gradient, note: 'transfer adversary without a surrogate: evaluated white-box (a lower bound on robustness)' };
  } else {
    chosen = { attacks: gradient, note: 'white-box adversary' };
  }
  const attacks = chosen.attacks.filter(fits);
  if (attacks.length === 0) {
    throw new UsageError(
      'E_THREAT_NO_ATTACK',
      `No attack evaluates threat '${threat.id}' (${threat.norm}, ${technique}); use a gradient technique or an L∞/L2 norm for it.`,
      { details: { threat: threat.id, norm: threat.norm, technique } },
    );
  }
  return { attacks, note: threat.goal?.kind === 'targeted' ? `${chosen.note}, targeted at class ${threat.goal.target}` : chosen.note };
}

/** Whether a threat is evaluated by the attack suite too (white-box, untargeted, L∞/L2): the suite's attacks are exactly that adversary. */
export function suiteFitsThreat(threat: ThreatModel): boolean {
  return (threat.technique ?? 'gradient') === 'gradient' && threat.goal?.kind !== 'targeted' && !isSparseNorm(threat.norm);
}

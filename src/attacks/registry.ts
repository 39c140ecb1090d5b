/**
 * The attack catalog: stable ids to factories. Everything that names an attack by string
 * (CLI, plans, reports, the conformance table) goes through here.
 */
import { UsageError, listChoices } from '../core/errors.js';
import type { Attack } from './types.js';
import { fgsm, type FgsmOptions } from './image/fgsm.js';
import { pgd, type PgdOptions } from './image/pgd.js';
import { square, type SquareOptions } from './image/square.js';
import { cw, type CwOptions } from './image/cw.js';
import { hopSkipJump, type HopSkipJumpOptions } from './image/hop-skip-jump.js';
import { fab, fabT, type FabOptions, type FabTOptions } from './image/fab.js';
import { deepFool, type DeepFoolOptions } from './image/deepfool.js';
import { apgdCe, apgdDlr, apgdT, type ApgdOptions, type ApgdTOptions } from './image/apgd.js';

type Factory = (options: Record<string, unknown>) => Attack;

const ATTACKS: Record<string, { factory: Factory; description: string }> = {
  fgsm: { factory: (o) => fgsm(o as FgsmOptions), description: 'Fast gradient sign method: one step of size epsilon (Goodfellow et al. 2015).' },
  pgd: { factory: (o) => pgd(o as PgdOptions), description: 'Projected gradient descent with random start and restarts (Madry et al. 2018).' },
  'apgd-ce': { factory: (o) => apgdCe(o as ApgdOptions), description: 'APGD with cross-entropy: step-size-free PGD with momentum and checkpointed halving (Croce & Hein 2020).' },
  'apgd-dlr': { factory: (o) => apgdDlr(o as ApgdOptions), description: 'APGD with the scale-invariant DLR loss (Croce & Hein 2020).' },
  'apgd-t': { factory: (o) => apgdT(o as ApgdTOptions), description: 'APGD-T: targeted DLR towards the most likely wrong classes in turn (AutoAttack).' },
  deepfool: { factory: (o) => deepFool(o as DeepFoolOptions), description: 'DeepFool: minimum-norm steps to the linearised boundary, L2 and L∞ (Moosavi-Dezfooli et al. 2016).' },
  fab: { factory: (o) => fab(o as FabOptions), description: 'FAB: fast adaptive boundary minimum-norm attack, L∞ and L2 (Croce & Hein 2020).' },
  'fab-t': { factory: (o) => fabT(o as FabTOptions), description: 'FAB-T: FAB towards the most likely wrong classes in turn (AutoAttack).' },
  cw: { factory: (o) => cw(o as CwOptions), description: 'Carlini-Wagner L2: minimum-norm search in tanh space with Adam and a binary search over c (Carlini & Wagner 2017).' },
  hsj: { factory: (o) => hopSkipJump(o as HopSkipJumpOptions), description: 'HopSkipJump: decision-based (labels only) minimum-norm attack, L2 and L∞ (Chen et al. 2020).' },
  square: { factory: (o) => square(o as SquareOptions), description: 'Square attack: score-based black-box random search, L∞ and L2 (Andriushchenko et al. 2020).' },
};

/** The registered attack ids, in catalog order. */
export function attackIds(): string[] {
  return Object.keys(ATTACKS);
}

export function describeAttack(id: string): string {
  return ATTACKS[id]?.description ?? '';
}

/**
 * Creates an attack from its id and options.
 *
 * @throws UsageError `E_UNKNOWN_ATTACK` listing the valid ids.
 * @example const attack = createAttack('pgd', { steps: 40 });
 */
export function createAttack(id: string, options: Record<string, unknown> = {}): Attack {
  const entry = ATTACKS[id];
  if (!entry) {
    throw new UsageError('E_UNKNOWN_ATTACK', `Unknown attack '${id}'; use ${listChoices(attackIds())}.`, { details: { value: id, valid: attackIds() } });
  }
  return entry.factory(options);
}

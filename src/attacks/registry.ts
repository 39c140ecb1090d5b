/**
 * The attack catalog: stable ids to their option schemas and factories. Everything that
 * names an attack by string (CLI, plans, reports, the conformance table) goes through
 * here, and the options are parsed here by the attack's own schema.
 */
import type { z } from 'zod';
import { UsageError, listChoices } from '../core/errors.js';
import type { Attack } from './types.js';
import { ATTACK_ACCESS, type AttackAccess, type RegisteredAttackId } from './access.js';
import { parseAttackOptions } from './option-schema.js';
import { fgsm, fgsmOptions } from './image/fgsm.js';
import { pgd, pgdOptions } from './image/pgd.js';
import { square, squareOptions } from './image/square.js';
import { cw, cwOptions } from './image/cw.js';
import { hopSkipJump, hopSkipJumpOptions } from './image/hop-skip-jump.js';
import { fab, fabOptions, fabT, fabTOptions } from './image/fab.js';
import { deepFool, deepFoolOptions } from './image/deepfool.js';
import { apgdCe, apgdDlr, apgdOptions, apgdT, apgdTOptions } from './image/apgd.js';
import { adversarialPatch, patchOptions } from './image/patch.js';
import { universal, universalOptions } from './image/universal.js';
import { sparseL0, sparseL0Options } from './image/sparse-l0.js';
import { occlusionSweep, occlusionOptions } from './image/occlusion.js';
import { NORM_IDS, type ThreatNormId } from '../threats/norms.js';
import { tabularApgd, tabularApgdOptions, tabularPgd, tabularPgdOptions } from './tabular/pgd.js';
import { lowProFool, lowProFoolOptions } from './tabular/lowprofool.js';
import { tabularRandomSearch, tabularRandomSearchOptions } from './tabular/random-search.js';

interface Entry {
  /** Builds the attack from options its schema has parsed. */
  create: (options: unknown) => Attack;
  /** The option names the schema accepts. */
  options: readonly string[];
  description: string;
  /** The threat norms the attack searches under. */
  norms: readonly ThreatNormId[];
}

/** Binds a schema to its factory, so the parsed options reach the factory with their type, no cast. */
function entry<S extends z.ZodObject>(
  id: string,
  schema: S,
  factory: (options: z.output<S>) => Attack,
  description: string,
  norms: readonly ThreatNormId[] = NORM_IDS,
): Entry {
  return { create: (options) => factory(parseAttackOptions(id, schema, options)), options: Object.keys(schema.shape), description, norms };
}

// Keyed by the access table's ids, so an attack cannot be registered without declaring what it reads.
const ATTACKS: Record<RegisteredAttackId, Entry> = {
  fgsm: entry('fgsm', fgsmOptions, fgsm, 'Fast gradient sign method: one step of size epsilon (Goodfellow et al. 2015).'),
  pgd: entry('pgd', pgdOptions, pgd, 'Projected gradient descent with random start and restarts (Madry et al. 2018).'),
  'apgd-ce': entry(
    'apgd-ce',
    apgdOptions,
    apgdCe,
    'APGD with cross-entropy: step-size-free PGD with momentum and checkpointed halving (Croce & Hein 2020).',
  ),
  'apgd-dlr': entry('apgd-dlr', apgdOptions, apgdDlr, 'APGD with the scale-invariant DLR loss (Croce & Hein 2020).'),
  'apgd-t': entry('apgd-t', apgdTOptions, apgdT, 'APGD-T: targeted DLR towards the most likely wrong classes in turn (AutoAttack).'),
  deepfool: entry(
    'deepfool',
    deepFoolOptions,
    deepFool,
    'DeepFool: minimum-norm steps to the linearised boundary, L2 and L∞ (Moosavi-Dezfooli et al. 2016).',
  ),
  fab: entry('fab', fabOptions, fab, 'FAB: fast adaptive boundary minimum-norm attack, L∞ and L2 (Croce & Hein 2020).'),
  'fab-t': entry('fab-t', fabTOptions, fabT, 'FAB-T: FAB towards the most likely wrong classes in turn (AutoAttack).'),
  cw: entry(
    'cw',
    cwOptions,
    cw,
    'Carlini-Wagner L2: minimum-norm search in tanh space with Adam and a binary search over c (Carlini & Wagner 2017).',
  ),
  hsj: entry(
    'hsj',
    hopSkipJumpOptions,
    hopSkipJump,
    'HopSkipJump: decision-based (labels only) minimum-norm attack, L2 and L∞ (Chen et al. 2020).',
  ),
  square: entry(
    'square',
    squareOptions,
    square,
    'Square attack: score-based black-box random search, L∞ and L2 (Andriushchenko et al. 2020).',
  ),
  universal: entry(
    'universal',
    universalOptions,
    universal,
    'Universal adversarial perturbation: one δ for the whole batch, L∞ and L2 (Moosavi-Dezfooli et al. 2017, SGD variant).',
  ),
  patch: entry(
    'patch',
    patchOptions,
    adversarialPatch,
    'Adversarial patch: one location-randomised square patch for the whole batch, patch threats (Brown et al. 2017).',
    ['patch'],
  ),
  'sparse-l0': entry(
    'sparse-l0',
    sparseL0Options,
    sparseL0,
    'Sparse L0: greedy saliency k-pixel attack setting pixels to their bounds, l0 threats (after Papernot et al. 2016).',
    ['l0'],
  ),
  occlusion: entry(
    'occlusion',
    occlusionOptions,
    occlusionSweep,
    'Occlusion sweep: worst-case or random grey/black/white boxes, score-based, occlusion and patch threats (after Zeiler & Fergus 2014).',
    ['occlusion', 'patch'],
  ),
  'tabular-pgd': entry(
    'tabular-pgd',
    tabularPgdOptions,
    tabularPgd,
    'PGD projected onto tabular constraints (ranges, budgets, immutable, monotone, integer and one-hot repair).',
  ),
  'tabular-apgd': entry('tabular-apgd', tabularApgdOptions, tabularApgd, 'APGD projected onto tabular constraints (Croce & Hein 2020).'),
  lowprofool: entry(
    'lowprofool',
    lowProFoolOptions,
    lowProFool,
    'LowProFool: importance-weighted L2 penalty, steps projected onto tabular constraints (Ballet et al. 2019).',
  ),
  'tabular-random-search': entry(
    'tabular-random-search',
    tabularRandomSearchOptions,
    tabularRandomSearch,
    'Score-based random search over the mutable features, projected onto tabular constraints (after Square).',
  ),
};

function lookup(id: string): Entry | undefined {
  return Object.hasOwn(ATTACKS, id) ? ATTACKS[id as RegisteredAttackId] : undefined;
}

/** The registered attack ids, in catalog order. */
export function attackIds(): string[] {
  return Object.keys(ATTACKS);
}

export function describeAttack(id: string): string {
  return lookup(id)?.description ?? '';
}

/** The threat norms an attack id searches under (empty for an unknown id). */
export function attackNorms(id: string): readonly ThreatNormId[] {
  return lookup(id)?.norms ?? [];
}

/** The registered attack ids that search under a threat norm, in catalog order. */
export function attacksForNorm(norm: ThreatNormId): string[] {
  return attackIds().filter((id) => attackNorms(id).includes(norm));
}

/** The options an attack id accepts (empty for an unknown id). */
export function attackOptionNames(id: string): readonly string[] {
  return lookup(id)?.options ?? [];
}

/**
 * What a registered attack reads from the model: `gradients` (white box), `scores` or `labels`.
 *
 * @throws UsageError `E_UNKNOWN_ATTACK` listing the valid ids.
 * @example attackAccess('square'); // 'scores'
 */
export function attackAccess(id: string): AttackAccess {
  if (!lookup(id)) unknownAttack(id);
  return ATTACK_ACCESS[id as RegisteredAttackId];
}

function unknownAttack(id: string): never {
  throw new UsageError('E_UNKNOWN_ATTACK', `Unknown attack '${id}'; use ${listChoices(attackIds())}.`, {
    details: { value: id, valid: attackIds() },
  });
}

/**
 * Creates an attack from its id and options, parsed by the attack's schema.
 *
 * @throws UsageError `E_UNKNOWN_ATTACK` listing the valid ids.
 * @throws UsageError `E_ATTACK_OPTION` for an option the attack does not take (naming the
 *   ones it does) or a value out of range.
 * @example const attack = createAttack('pgd', { steps: 40 });
 */
export function createAttack(id: string, options: Record<string, unknown> = {}): Attack {
  const known = lookup(id);
  if (!known) unknownAttack(id);
  return known.create(options);
}

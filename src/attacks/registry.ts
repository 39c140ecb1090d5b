/**
 * The attack catalog: stable ids to their option schemas and factories. Everything that
 * names an attack by string (CLI, plans, reports, the conformance table) goes through
 * here, and the options are parsed here by the attack's own schema.
 */
import type { z } from 'zod';
import { UsageError, listChoices } from '../core/errors.js';
import type { Attack } from './types.js';
import { parseAttackOptions } from './option-schema.js';
import { fgsm, fgsmOptions } from './image/fgsm.js';
import { pgd, pgdOptions } from './image/pgd.js';
import { square, squareOptions } from './image/square.js';
import { cw, cwOptions } from './image/cw.js';
import { hopSkipJump, hopSkipJumpOptions } from './image/hop-skip-jump.js';
import { fab, fabOptions, fabT, fabTOptions } from './image/fab.js';
import { deepFool, deepFoolOptions } from './image/deepfool.js';
import { apgdCe, apgdDlr, apgdOptions, apgdT, apgdTOptions } from './image/apgd.js';
import { tabularApgd, tabularApgdOptions, tabularPgd, tabularPgdOptions } from './tabular/pgd.js';
import { lowProFool, lowProFoolOptions } from './tabular/lowprofool.js';
import { tabularRandomSearch, tabularRandomSearchOptions } from './tabular/random-search.js';

interface Entry {
  /** Builds the attack from options its schema has parsed. */
  create: (options: unknown) => Attack;
  /** The option names the schema accepts. */
  options: readonly string[];
  description: string;
}

/** Binds a schema to its factory, so the parsed options reach the factory with their type, no cast. */
function entry<S extends z.ZodObject>(id: string, schema: S, factory: (options: z.output<S>) => Attack, description: string): Entry {
  return { create: (options) => factory(parseAttackOptions(id, schema, options)), options: Object.keys(schema.shape), description };
}

const ATTACKS: Record<string, Entry> = {
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

/** The registered attack ids, in catalog order. */
export function attackIds(): string[] {
  return Object.keys(ATTACKS);
}

export function describeAttack(id: string): string {
  return ATTACKS[id]?.description ?? '';
}

/** The options an attack id accepts (empty for an unknown id). */
export function attackOptionNames(id: string): readonly string[] {
  return ATTACKS[id]?.options ?? [];
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
  const known = ATTACKS[id];
  if (!known) {
    throw new UsageError('E_UNKNOWN_ATTACK', `Unknown attack '${id}'; use ${listChoices(attackIds())}.`, {
      details: { value: id, valid: attackIds() },
    });
  }
  return known.create(options);
}

/**
 * Option schemas shared by several attacks, and the parse every attack factory and the
 * registry use: a failure is a UsageError `E_ATTACK_OPTION` naming the attack, the option
 * and the valid ones.
 */
import type { z } from 'zod';
import { oneOf, parseOptions, wholeNumber } from '../core/option-schema.js';
import { ATTACK_LOSSES } from './losses.js';

/** The loss of the gradient-descent attacks: `ce` or `margin`. */
export const lossOption = oneOf(ATTACK_LOSSES);

/** Forward passes averaged per gradient step (EOT), for randomised models; default 1. */
export const eotOption = wholeNumber(1);

/**
 * Parses an attack's options with its schema.
 *
 * @throws UsageError `E_ATTACK_OPTION` for an unknown option or a value out of range.
 * @example const o = parseAttackOptions('pgd', pgdOptions, { steps: 40 });
 */
export function parseAttackOptions<S extends z.ZodObject>(attack: string, schema: S, options: unknown): z.output<S> {
  return parseOptions({ owner: attack, code: 'E_ATTACK_OPTION', details: { attack } }, schema, options);
}

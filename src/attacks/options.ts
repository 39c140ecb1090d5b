/** Parsing of attack options that arrive as loose values (CLI flags, plan files). */
import { UsageError, listChoices } from '../core/errors.js';
import { ATTACK_LOSSES, type AttackLoss } from './losses.js';

/** @throws UsageError `E_ATTACK_OPTION` for a loss that does not exist. */
export function parseAttackLoss(attack: string, value: unknown): AttackLoss {
  if (value === undefined) return 'ce';
  if (typeof value === 'string' && (ATTACK_LOSSES as readonly string[]).includes(value)) return value as AttackLoss;
  throw new UsageError('E_ATTACK_OPTION', `${attack} option 'loss' is ${JSON.stringify(value)}; use ${listChoices(ATTACK_LOSSES)}.`, {
    details: { value, valid: ATTACK_LOSSES },
  });
}

/** @throws UsageError `E_ATTACK_OPTION` unless the value is a whole number >= min. */
export function parseWholeNumber(attack: string, name: string, value: unknown, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (typeof value === 'number' && Number.isInteger(value) && value >= min) return value;
  throw new UsageError('E_ATTACK_OPTION', `${attack} option '${name}' must be a whole number >= ${min}; got ${JSON.stringify(value)}.`, {
    details: { [name]: value },
  });
}

/** @throws UsageError `E_ATTACK_OPTION` unless the value is a finite number > 0 (or absent). */
export function parsePositiveNumber(attack: string, name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number' && Number.isFinite(value) && value > 0) return value;
  throw new UsageError('E_ATTACK_OPTION', `${attack} option '${name}' must be a number > 0; got ${JSON.stringify(value)}.`, { details: { [name]: value } });
}

/** @throws UsageError `E_ATTACK_OPTION` unless the value is a boolean (or absent). */
export function parseBoolean(attack: string, name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value === 'boolean') return value;
  throw new UsageError('E_ATTACK_OPTION', `${attack} option '${name}' must be true or false; got ${JSON.stringify(value)}.`, { details: { [name]: value } });
}

/** @throws UsageError `E_ATTACK_OPTION` naming options the attack does not know. */
export function rejectUnknownOptions(attack: string, options: Record<string, unknown>, known: readonly string[]): void {
  const unknown = Object.keys(options).filter((k) => !known.includes(k));
  if (unknown.length > 0) {
    throw new UsageError('E_ATTACK_OPTION', `${attack} has no option ${listChoices(unknown)}; its options are ${listChoices(known)}.`, {
      details: { unknown, valid: known },
    });
  }
}

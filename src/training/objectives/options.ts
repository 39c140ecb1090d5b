/**
 * Validation of objective options. Factories are public and take loose numbers from plans,
 * the CLI and user code alike, so every value is checked where the objective is built,
 * and every failure is a UsageError `E_OBJECTIVE_OPTION` naming the objective and option.
 */
import { RampartError, UsageError, listChoices } from '../../core/errors.js';
import { threatModel, type ThreatModel, type ThreatModelSpec } from '../../threats/threat-model.js';

function fail(objective: string, name: string, expected: string, value: unknown, cause?: unknown): never {
  throw new UsageError('E_OBJECTIVE_OPTION', `${objective} option '${name}' must be ${expected}; got ${describe(value)}.`, {
    details: { objective, option: name, value },
    ...(cause === undefined ? {} : { cause }),
  });
}

function describe(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value) ?? String(value);
}

/** A whole number >= min; `fallback` when absent. */
export function wholeNumber(objective: string, name: string, value: unknown, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (typeof value === 'number' && Number.isInteger(value) && value >= min) return value;
  return fail(objective, name, `a whole number >= ${min}`, value);
}

/** A finite number > 0, or undefined when absent (the caller derives a default). */
export function positiveNumber(objective: string, name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number' && Number.isFinite(value) && value > 0) return value;
  return fail(objective, name, 'a number > 0', value);
}

/** A finite number >= 0; `fallback` when absent. */
export function nonNegativeNumber(objective: string, name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  return fail(objective, name, 'a number >= 0', value);
}

/** A number in [0, 1]; `fallback` when absent. */
export function unitInterval(objective: string, name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= 1) return value;
  return fail(objective, name, 'a number in [0, 1]', value);
}

export function booleanOption(objective: string, name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value === 'boolean') return value;
  return fail(objective, name, 'true or false', value);
}

/**
 * The threat an adversarial objective trains against, built and checked by `threatModel`
 * (so the same epsilon and bounds rules hold as for attacks); its errors become the
 * `cause` of an `E_OBJECTIVE_OPTION` error that says which objective was being built.
 */
export function threatOption(objective: string, value: unknown): ThreatModel {
  if (typeof value !== 'object' || value === null) {
    return fail(objective, 'threat', "a threat such as { norm: 'linf', epsilon: 0.3 }", value);
  }
  try {
    return threatModel(value as ThreatModelSpec);
  } catch (error) {
    if (!(error instanceof RampartError)) throw error;
    throw new UsageError('E_OBJECTIVE_OPTION', `${objective} option 'threat' is invalid: ${error.message}`, {
      cause: error,
      details: { objective, option: 'threat', value, reason: error.code },
    });
  }
}

/** Names the options an objective does not take, listing the ones it does. */
export function rejectUnknownOptions(objective: string, options: object, known: readonly string[]): void {
  const unknown = Object.keys(options).filter((k) => (options as Record<string, unknown>)[k] !== undefined && !known.includes(k));
  if (unknown.length > 0) {
    const valid = known.length > 0 ? `its options are ${listChoices(known)}` : 'it takes no options';
    throw new UsageError('E_OBJECTIVE_OPTION', `${objective} has no option ${listChoices(unknown)}; ${valid}.`, {
      details: { objective, unknown, valid: known },
    });
  }
}

/** Flag parsers that fail with Rampart's usage errors, so every bad flag exits with 2. */
import { UsageError } from '../core/errors.js';

export function wholeNumber(flag: string, min = 0): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) {
      throw new UsageError('E_FLAG_VALUE', `${flag} must be a whole number >= ${min}; got '${value}'.`, { details: { flag, value } });
    }
    return n;
  };
}

export function positiveNumber(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n <= 0) {
      throw new UsageError('E_FLAG_VALUE', `${flag} must be a number > 0; got '${value}'.`, { details: { flag, value } });
    }
    return n;
  };
}

export function commaList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** Comma-separated numbers >= 0 (L2 radii, batch sizes). */
export function numberList(flag: string, text: string, whole = false): number[] {
  const values = commaList(text).map(Number);
  if (values.length === 0 || values.some((v) => !Number.isFinite(v) || v < 0 || (whole && (!Number.isInteger(v) || v < 1)))) {
    throw new UsageError(
      'E_FLAG_VALUE',
      `${flag} must be a comma-separated list of ${whole ? 'whole numbers >= 1' : 'numbers >= 0'}, e.g. ${whole ? '1,32' : '0,0.25,0.5'}; got '${text}'.`,
      { details: { flag, value: text } },
    );
  }
  return values;
}

/** A probability strictly between 0 and 1, checked before any work starts. */
export function probability(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !(n > 0 && n < 1))
      throw new UsageError('E_FLAG_VALUE', `${flag} must be a number in (0, 1), e.g. 0.001; got '${value}'.`, { details: { flag, value } });
    return n;
  };
}

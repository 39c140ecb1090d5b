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
  return value.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

/**
 * Model metadata lives in model.json, so it must be plain JSON. `JSON.stringify` would
 * silently turn `Infinity` bounds into `null` and drop `undefined` fields; a Rampart
 * model loaded with different bounds than it was saved with is a wrong model, so such
 * values are refused at save time instead.
 */
import { InputError } from '../../core/errors.js';

/** A JSON object: what `userDefinedMetadata` holds on disk. */
export type ModelMetadata = Record<string, unknown>;

/**
 * Checks that `value` is a plain object that survives `JSON.stringify`/`JSON.parse`
 * unchanged: nested plain objects and arrays of strings, finite numbers, booleans, null.
 *
 * @throws InputError `E_MODEL_METADATA` naming the first offending path.
 * @example
 * assertJsonMetadata({ bounds: { min: 0, max: 1 }, classes: ['ham', 'spam'] }); // ok
 * assertJsonMetadata({ bounds: { min: -Infinity } }); // throws: metadata.bounds.min
 */
export function assertJsonMetadata(value: unknown): asserts value is ModelMetadata {
  if (!isPlainObject(value)) fail('metadata', describe(value), 'a plain object');
  check(value, 'metadata', new Set());
}

function check(value: unknown, path: string, ancestors: Set<object>): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) fail(path, String(value), 'a finite number (JSON has no NaN or Infinity)');
      return;
    case 'object':
      break;
    default:
      fail(path, describe(value), 'JSON (strings, finite numbers, booleans, null, arrays, plain objects)');
  }
  if (value === null) return;
  if (ancestors.has(value)) fail(path, 'a circular reference', 'a tree');
  ancestors.add(value);
  if (Array.isArray(value)) {
    // Index loop, not for-of over entries: holes must be seen (they would become null).
    for (let i = 0; i < value.length; i++) check(value[i], `${path}[${i}]`, ancestors);
  } else if (isPlainObject(value)) {
    for (const [key, child] of Object.entries(value)) check(child, `${path}.${key}`, ancestors);
  } else {
    fail(path, describe(value), 'a plain object or array');
  }
  ancestors.delete(value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return `a ${value.constructor?.name ?? 'non-plain'} object`;
  return typeof value === 'bigint' ? 'a bigint' : `${typeof value}`;
}

function fail(path: string, got: string, want: string): never {
  throw new InputError(
    'E_MODEL_METADATA',
    `Cannot save model: ${path} is ${got}; it must be ${want} so it survives model.json unchanged.`,
    {
      details: { path, expected: want },
    },
  );
}

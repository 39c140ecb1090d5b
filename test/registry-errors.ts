/** Shared assertion for the registry tests: `fn` throws a RegistryError with `code`. Not a test file. */
import assert from 'node:assert/strict';
import { RegistryError } from '../src/core/errors.js';

/** Runs `fn`, asserts it throws a RegistryError with `code`, and returns the error. */
export function expectCode(fn: () => unknown, code: string): RegistryError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof RegistryError, `expected a RegistryError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return error;
  }
  assert.fail(`expected ${code}`);
}

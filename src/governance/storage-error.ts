/**
 * A fault of the registry's own storage (a damaged or missing blob, an unreadable
 * database): still a RegistryError with a stable code, but of kind 'internal', so the
 * server answers 5xx (the caller did nothing wrong) and the CLI exits 1. Messages name
 * paths relative to the registry, never absolute ones, because they can reach HTTP clients.
 */
import { RegistryError, type ErrorKind } from '../core/errors.js';

export class RegistryStorageError extends RegistryError {
  override readonly kind: ErrorKind = 'internal';
}

/** What the governance components share: the database, the blob store, the actor and the clock. */
import type Database from 'better-sqlite3';
import type { ObjectStore } from './objects.js';

export interface GovernanceContext {
  dir: string;
  db: Database.Database;
  objects: ObjectStore;
  actor: string;
  /** ISO timestamp for a new record. */
  now(): string;
  /** Runs `fn` in a (nestable) transaction. */
  tx<T>(fn: () => T): T;
}

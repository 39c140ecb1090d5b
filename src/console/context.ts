/** What every console page reads: the open registry, the paged reads, the chain verifier, the snapshots. */
import type { Governance } from '../governance/index.js';
import type { Principal } from '../serve/auth.js';
import type { SnapshotStore } from '../serve/snapshots.js';
import type { ChainVerifier } from './chain.js';
import type { ReadModel } from './read-model.js';

export interface ConsoleDeps {
  gov: Governance;
  read: ReadModel;
  chain: ChainVerifier;
  snapshots: SnapshotStore;
}

/** One request as a page sees it. */
export interface PageRequest {
  path: string;
  principal: Principal;
  csrf: string;
  query: Record<string, string | undefined>;
  /** A one-line result of the last change (after a redirect), shown at the top. */
  flash?: string;
}

/** Whether the principal may change things (promote, status changes, review decisions). */
export const canChange = (req: PageRequest): boolean => req.principal.role === 'admin';
/** Review decisions are operator work, as in `/v1/review`. */
export const canReview = (req: PageRequest): boolean => req.principal.role === 'admin' || req.principal.role === 'operator';

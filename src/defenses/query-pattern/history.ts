/**
 * Per-client query histories under one memory bound. Each client keeps its last `window`
 * sketches (a count of examples, not requests, so one large request cannot flush it);
 * all clients together keep at most `maxExamples`, and when a new sketch would pass that
 * bound the least recently seen clients are forgotten first (an LRU of clients: the Map
 * keeps insertion order, and a client is re-inserted whenever it is seen).
 *
 * A client's sketches sit in a ring (oldest at the head), so forgetting the oldest costs
 * O(1) however long the window, and in an exact index (near-index.ts), so counting a new
 * example's near-duplicates reads the few that can be near instead of the whole window.
 */
import { INDEX_BYTES_PER_ENTRY, NearIndex, type IndexedPoint, type NearThresholds } from './near-index.js';
import { sketchBytes, type Sketch } from './sketch.js';

export interface HistoryLimits extends NearThresholds {
  /** Sketches kept per client. */
  window: number;
  /** Sketches older than this (ms) are forgotten. */
  windowMs: number;
  /** Clients tracked at once. */
  maxClients: number;
  /** Sketches kept over all clients. */
  maxExamples: number;
}

/** One stored example: when it arrived, and the index point that holds its sketch. */
export interface HistoryEntry {
  readonly time: number;
  readonly point: IndexedPoint;
}

// Counted per example even when identical examples share one point: the bound stays an upper bound.
const entryBytes = (entry: HistoryEntry): number => sketchBytes(entry.point.sketch) + INDEX_BYTES_PER_ENTRY;

/** One client's recent sketches, oldest first, with the time each arrived, and their index. */
export class ClientHistory {
  /** Ring storage; grows by doubling up to the window, so a client with few examples holds little. */
  private slots: Array<HistoryEntry | undefined> = new Array<HistoryEntry | undefined>(16);
  private head = 0;
  private count = 0;
  /** Approximate bytes the entries hold. */
  bytes = 0;
  readonly index: NearIndex;

  constructor(thresholds: NearThresholds) {
    this.index = new NearIndex(thresholds);
  }

  /** Sketches held. */
  get length(): number {
    return this.count;
  }

  /** The oldest entry, if any. */
  oldest(): HistoryEntry | undefined {
    return this.count === 0 ? undefined : this.slots[this.head];
  }

  /** Stores one example's sketch at time `now`; returns its entry. */
  push(sketch: Sketch, now: number): HistoryEntry {
    if (this.count === this.slots.length) {
      const grown = new Array<HistoryEntry | undefined>(this.slots.length * 2);
      for (let i = 0; i < this.count; i++) grown[i] = this.slots[(this.head + i) % this.slots.length];
      this.slots = grown;
      this.head = 0;
    }
    const entry: HistoryEntry = { time: now, point: this.index.add(sketch) };
    this.slots[(this.head + this.count) % this.slots.length] = entry;
    this.count++;
    this.bytes += entryBytes(entry);
    return entry;
  }

  /** Removes and returns the oldest entry. */
  shift(): HistoryEntry | undefined {
    if (this.count === 0) return undefined;
    const entry = this.slots[this.head] as HistoryEntry;
    this.slots[this.head] = undefined;
    this.head = (this.head + 1) % this.slots.length;
    this.count--;
    this.bytes -= entryBytes(entry);
    this.index.remove(entry.point);
    return entry;
  }
}

export class HistoryStore {
  private readonly clients = new Map<string, ClientHistory>();
  private examples = 0;
  private bytes = 0;
  /** The client last touched (the Map's last key). */
  private mostRecent: string | undefined;

  constructor(private readonly limits: HistoryLimits) {}

  /** Clients tracked now. */
  get size(): number {
    return this.clients.size;
  }

  /** Sketches held over all clients. */
  get totalExamples(): number {
    return this.examples;
  }

  /** Approximate bytes the sketches and their index entries hold. */
  get totalBytes(): number {
    return this.bytes;
  }

  clear(): void {
    this.clients.clear();
    this.mostRecent = undefined;
    this.examples = 0;
    this.bytes = 0;
  }

  /** The client's history with expired sketches dropped, marked as most recently seen. */
  touch(clientId: string, now: number): ClientHistory {
    let history = this.clients.get(clientId);
    // Re-inserted to become the most recent, unless it already is (one busy client: no Map churn).
    if (!history) {
      history = new ClientHistory(this.limits);
      this.clients.set(clientId, history);
    } else if (clientId !== this.mostRecent) {
      this.clients.delete(clientId);
      this.clients.set(clientId, history);
    }
    this.mostRecent = clientId;
    for (let oldest = history.oldest(); oldest && now - oldest.time > this.limits.windowMs; oldest = history.oldest()) {
      this.dropOldest(history, 1);
    }
    while (this.clients.size > this.limits.maxClients) this.evictLeastRecent(clientId);
    return history;
  }

  /** Appends one sketch to a touched client's history, keeping both bounds. */
  append(clientId: string, history: ClientHistory, sketch: Sketch, now: number): void {
    const entry = history.push(sketch, now);
    this.examples++;
    this.bytes += entryBytes(entry);
    const window = Math.min(this.limits.window, this.limits.maxExamples);
    if (history.length > window) this.dropOldest(history, history.length - window);
    while (this.examples > this.limits.maxExamples && this.evictLeastRecent(clientId));
    // Only the current client is left and it alone is over the bound: it loses its oldest.
    if (this.examples > this.limits.maxExamples) this.dropOldest(history, this.examples - this.limits.maxExamples);
  }

  private dropOldest(history: ClientHistory, count: number): void {
    for (let i = 0; i < count; i++) {
      const entry = history.shift();
      if (!entry) return;
      this.bytes -= entryBytes(entry);
      this.examples--;
    }
  }

  /** Forgets the least recently seen client other than `keep`; false when there is none. */
  private evictLeastRecent(keep: string): boolean {
    for (const [id, history] of this.clients) {
      if (id === keep) continue;
      // The whole history goes with its client: no need to unlink entries one by one.
      this.examples -= history.length;
      this.bytes -= history.bytes;
      this.clients.delete(id);
      return true;
    }
    return false;
  }
}

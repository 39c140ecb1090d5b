/**
 * Per-client query histories under one memory bound. Each client keeps its last `window`
 * sketches (a count of examples, not requests, so one large request cannot flush it);
 * all clients together keep at most `maxExamples`, and when a new sketch would pass that
 * bound the least recently seen clients are forgotten first (an LRU of clients: the Map
 * keeps insertion order, and a client is re-inserted whenever it is seen).
 */
import { COARSE_GROUPS, sketchBytes, type Sketch } from './sketch.js';

/** One client's recent sketches, oldest first, with the time each arrived. */
export interface ClientHistory {
  times: number[];
  sketches: Sketch[];
  /**
   * The image sketches' coarse summaries side by side (`COARSE_GROUPS` per sketch, in the
   * same order; Infinity for a text), so the first test over thousands of entries reads
   * one typed array instead of chasing an object per entry.
   */
  coarse: Float32Array;
}

export interface HistoryLimits {
  /** Sketches kept per client. */
  window: number;
  /** Sketches older than this (ms) are forgotten. */
  windowMs: number;
  /** Clients tracked at once. */
  maxClients: number;
  /** Sketches kept over all clients. */
  maxExamples: number;
}

export class HistoryStore {
  private readonly clients = new Map<string, ClientHistory>();
  private examples = 0;
  private bytes = 0;

  constructor(private readonly limits: HistoryLimits) {}

  /** Clients tracked now. */
  get size(): number {
    return this.clients.size;
  }

  /** Sketches held over all clients. */
  get totalExamples(): number {
    return this.examples;
  }

  /** Approximate bytes the sketches hold. */
  get totalBytes(): number {
    return this.bytes;
  }

  clear(): void {
    this.clients.clear();
    this.examples = 0;
    this.bytes = 0;
  }

  /** The client's history with expired sketches dropped, marked as most recently seen. */
  touch(clientId: string, now: number): ClientHistory {
    let history = this.clients.get(clientId);
    if (history) this.clients.delete(clientId);
    else history = { times: [], sketches: [], coarse: new Float32Array(64 * COARSE_GROUPS) };
    this.clients.set(clientId, history);
    let drop = 0;
    while (drop < history.times.length && now - (history.times[drop] as number) > this.limits.windowMs) drop++;
    this.dropOldest(history, drop);
    while (this.clients.size > this.limits.maxClients) this.evictLeastRecent(clientId);
    return history;
  }

  /** Appends one sketch to a touched client's history, keeping both bounds. */
  append(clientId: string, history: ClientHistory, sketch: Sketch, now: number): void {
    const at = history.sketches.length * COARSE_GROUPS;
    if (at + COARSE_GROUPS > history.coarse.length) {
      const grown = new Float32Array(history.coarse.length * 2);
      grown.set(history.coarse);
      history.coarse = grown;
    }
    if (sketch.kind === 'image') history.coarse.set(sketch.coarse, at);
    else history.coarse.fill(Infinity, at, at + COARSE_GROUPS);
    history.times.push(now);
    history.sketches.push(sketch);
    this.examples++;
    this.bytes += sketchBytes(sketch);
    const window = Math.min(this.limits.window, this.limits.maxExamples);
    if (history.sketches.length > window) this.dropOldest(history, history.sketches.length - window);
    while (this.examples > this.limits.maxExamples && this.evictLeastRecent(clientId));
    // Only the current client is left and it alone is over the bound: it loses its oldest.
    if (this.examples > this.limits.maxExamples) this.dropOldest(history, this.examples - this.limits.maxExamples);
  }

  private dropOldest(history: ClientHistory, count: number): void {
    if (count <= 0) return;
    for (let i = 0; i < count; i++) this.bytes -= sketchBytes(history.sketches[i] as Sketch);
    history.coarse.copyWithin(0, count * COARSE_GROUPS, history.sketches.length * COARSE_GROUPS);
    history.times.splice(0, count);
    history.sketches.splice(0, count);
    this.examples -= count;
  }

  /** Forgets the least recently seen client other than `keep`; false when there is none. */
  private evictLeastRecent(keep: string): boolean {
    for (const [id, history] of this.clients) {
      if (id === keep) continue;
      this.dropOldest(history, history.sketches.length);
      this.clients.delete(id);
      return true;
    }
    return false;
  }
}

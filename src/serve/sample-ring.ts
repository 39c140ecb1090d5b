/**
 * The last examples a rollback judges another model on, kept without keeping the requests.
 * Holding each request's own input buffer (and an object per example) for hundreds of
 * requests made every one of them survive into the old generation, so the collector paid a
 * full mark-compact for what was short-lived traffic. Image inputs are copied into one slab
 * allocated once (a copy of a few hundred floats costs less than promoting it), texts are
 * strings the ring points at; `all()` builds the objects only when a rollback asks.
 */
/** One example kept for the comparison: its input and who sent it. */
export interface SampledExample {
  readonly client: string;
  readonly x?: Float32Array;
  readonly shape?: readonly number[];
  readonly text?: string;
}

export class SampleRing {
  private readonly clients: string[] = [];
  private readonly texts: Array<string | undefined> = [];
  private readonly shapes: Array<readonly number[] | undefined> = [];
  /** Rows of `width` floats, one per slot; resized (and the ring cleared) when the example size changes. */
  private slab = new Float32Array(0);
  private width = 0;
  /** Slots whose image did not fit the slab's width (a swap mid-window): a copy of their own. */
  private readonly odd = new Map<number, Float32Array>();
  private next = 0;

  constructor(readonly capacity: number) {}

  /** Keeps one example (its input is copied, never referenced). */
  push(client: string, input: Omit<SampledExample, 'client'>): void {
    if (this.capacity <= 0) return;
    const full = this.clients.length === this.capacity;
    const at = full ? this.next : this.clients.length;
    if (full) this.next = (this.next + 1) % this.capacity;
    this.odd.delete(at);
    this.clients[at] = client;
    this.texts[at] = input.text;
    this.shapes[at] = input.shape;
    const x = input.x;
    if (!x) return;
    if (this.width === 0 && x.length > 0) {
      this.width = x.length;
      this.slab = new Float32Array(this.capacity * x.length);
    }
    if (x.length === this.width) this.slab.set(x, at * this.width);
    else this.odd.set(at, Float32Array.from(x));
  }

  get size(): number {
    return this.clients.length;
  }

  /** The kept examples with their clients (fresh copies, in slot order). */
  all(): SampledExample[] {
    return this.clients.map((client, at) => {
      const text = this.texts[at];
      const shape = this.shapes[at];
      if (text !== undefined) return { client, text };
      const x = this.odd.get(at) ?? (shape ? this.slab.slice(at * this.width, (at + 1) * this.width) : undefined);
      return { client, ...(x ? { x } : {}), ...(shape ? { shape } : {}) };
    });
  }

  clear(): void {
    this.clients.length = 0;
    this.texts.length = 0;
    this.shapes.length = 0;
    this.odd.clear();
    this.next = 0;
  }
}

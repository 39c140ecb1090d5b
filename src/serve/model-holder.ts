/**
 * Hot swap without dropping requests. A request leases the model that is live when it
 * starts and keeps it to the end, even if a swap happens meanwhile; the swap itself is one
 * reference assignment (atomic on the event loop), and a replaced model is disposed only
 * when its last lease is returned.
 */
import type { ServedModel } from './served-model.js';

export interface Lease {
  readonly model: ServedModel;
  release(): void;
}

export class ModelHolder {
  private live: ServedModel;
  private readonly leases = new Map<ServedModel, number>();
  private readonly retired = new Set<ServedModel>();
  /** Increments on every swap; responses carry it so clients can see a swap happened. */
  generation = 0;

  constructor(initial: ServedModel) {
    this.live = initial;
  }

  get current(): ServedModel {
    return this.live;
  }

  acquire(): Lease {
    const model = this.live;
    this.leases.set(model, (this.leases.get(model) ?? 0) + 1);
    let released = false;
    return {
      model,
      release: () => {
        if (released) return;
        released = true;
        const left = (this.leases.get(model) ?? 1) - 1;
        if (left > 0) this.leases.set(model, left);
        else {
          this.leases.delete(model);
          if (this.retired.delete(model)) model.dispose();
        }
      },
    };
  }

  /** Makes `next` live; the old model is disposed once no lease holds it. Returns the old model. */
  swap(next: ServedModel): ServedModel {
    const old = this.live;
    next.loadedAt = new Date().toISOString();
    this.live = next;
    this.generation++;
    if (old !== next) {
      if ((this.leases.get(old) ?? 0) > 0) this.retired.add(old);
      else old.dispose();
    }
    return old;
  }

  /** The live or a retired, still leased model with this id. */
  find(id: string): ServedModel | undefined {
    if (this.live.view.id === id) return this.live;
    for (const m of this.retired) if (m.view.id === id) return m;
    return undefined;
  }

  /** Leases outstanding on any model (for tests and shutdown). */
  inFlight(): number {
    let n = 0;
    for (const v of this.leases.values()) n += v;
    return n;
  }

  /** Disposes the live model and any retired ones (at shutdown, after draining). */
  dispose(): void {
    for (const m of this.retired) m.dispose();
    this.retired.clear();
    this.live.dispose();
  }
}

/**
 * What a served request leaves for capture, and how it becomes stored examples. The server
 * queues references only (the parsed body, the trace, the serialised answer); this runs
 * later, in the capture writer's thread: it flattens the inputs, reads the model's answer
 * back, and keeps at most `perRequest` examples of one request.
 */
import type { CaptureInput, CapturedDecision } from './capture-types.js';

/** A flagged or denied request, as the server saw it. Structured-clonable (it crosses to the writer thread). */
export interface RawRequestCapture {
  kind: 'request';
  source: 'flag' | 'deny';
  /** Epoch milliseconds. */
  at: number;
  client: string;
  model: string;
  channel: 'image' | 'text';
  shape: readonly number[];
  body: unknown;
  /**
   * The image inputs as one row-major buffer (at most `perRequest` examples), filled by
   * `compactCapture` before the item crosses threads: a typed array is copied (or moved) in
   * one step, where a nested-array body would be cloned value by value on the event loop.
   */
  x?: Float32Array;
  decisions: CapturedDecision[];
  /** The serialised answer (a JSON string) when the request was answered. */
  payload: unknown;
  perRequest: number;
}

/** Anything the server queues: a request, or an example it already built (a broken canary probe). */
export type RawCapture = RawRequestCapture | { kind: 'input'; item: CaptureInput };

/** Flattens one nested-array example; undefined when it is not numbers all the way down or longer than `limit`. */
export function flatten(value: unknown, limit: number): number[] | undefined {
  const out: number[] = [];
  const walk = (v: unknown, depth: number): boolean => {
    if (typeof v === 'number') return out.length < limit && out.push(v) > 0;
    if (!Array.isArray(v) || depth > 8) return false;
    for (const e of v) if (!walk(e, depth + 1)) return false;
    return true;
  };
  return walk(value, 0) ? out : undefined;
}

function predictedLabels(payload: unknown): Array<number | null> {
  if (typeof payload !== 'string' || payload.length > 4 * 1024 * 1024) return [];
  try {
    const parsed = JSON.parse(payload) as { predictions?: Array<{ label?: unknown; probabilities?: unknown }> };
    // An abstained answer has no label; the model's own top class is still what a reviewer needs.
    const top = (p: unknown): number | null =>
      Array.isArray(p) && p.length > 0 ? p.reduce((best: number, v, i) => (Number(v) > Number(p[best]) ? i : best), 0) : null;
    return (parsed.predictions ?? []).map((p) => (typeof p.label === 'number' ? p.label : top(p.probabilities)));
  } catch {
    return [];
  }
}

/** Turns one queued item into the examples to store. */
export function prepareCapture(raw: RawCapture): CaptureInput[] {
  if (raw.kind === 'input') return [raw.item];
  const at = new Date(raw.at).toISOString();
  const labels = predictedLabels(raw.payload);
  const body = (raw.body ?? {}) as { inputs?: unknown; texts?: unknown };
  const base = { source: raw.source, model: raw.model, client: raw.client, at, decisions: raw.decisions };
  const items: CaptureInput[] = [];
  if (raw.channel === 'text') {
    const texts = Array.isArray(body.texts) ? body.texts : [];
    texts.slice(0, raw.perRequest).forEach((t, i) => {
      if (typeof t === 'string') items.push({ ...base, text: t, predicted: labels[i] ?? null });
    });
    return items;
  }
  const size = raw.shape.reduce((a, b) => a * b, 1);
  if (raw.x) {
    for (let i = 0; i * size < raw.x.length && i < raw.perRequest; i++) {
      items.push({ ...base, x: raw.x.subarray(i * size, (i + 1) * size), shape: raw.shape, predicted: labels[i] ?? null });
    }
    return items;
  }
  const inputs = Array.isArray(body.inputs) ? body.inputs : [];
  inputs.slice(0, raw.perRequest).forEach((example, i) => {
    const x = flatten(example, size + 1);
    if (x && x.length === size) items.push({ ...base, x, shape: raw.shape, predicted: labels[i] ?? null });
  });
  return items;
}

/**
 * Replaces an image request's nested-array body by one Float32Array of its first
 * `perRequest` examples (examples that are not `size` numbers are dropped, as `prepareCapture`
 * would); text bodies keep only their `texts`. Runs on the server's thread just before a
 * batch is handed over.
 */
export function compactCapture(raw: RawCapture): RawCapture {
  if (raw.kind !== 'request') return raw;
  const body = (raw.body ?? {}) as { inputs?: unknown; texts?: unknown };
  if (raw.channel === 'text') return { ...raw, body: { texts: Array.isArray(body.texts) ? body.texts.slice(0, raw.perRequest) : [] } };
  const size = raw.shape.reduce((a, b) => a * b, 1);
  const rows = (Array.isArray(body.inputs) ? body.inputs.slice(0, raw.perRequest) : []).map((e) => flatten(e, size + 1));
  const kept = rows.filter((r): r is number[] => r !== undefined && r.length === size);
  const x = new Float32Array(kept.length * size);
  kept.forEach((r, i) => x.set(r, i * size));
  return { ...raw, body: null, x };
}

/**
 * What a served request leaves for capture, and how it becomes stored examples. The server
 * queues references only (the body's bytes as received, the trace, the serialised answer)
 * and packs a batch's bytes into one buffer moved to the writer thread (`packBatch`);
 * `prepareCapture` runs there: it parses the body, flattens the inputs, reads the model's
 * answer back, and keeps at most `perRequest` examples of one request. Nothing but a copy
 * of bytes happens on the server's event loop.
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
  /** The parsed body, when the bytes were not kept (`json` absent). */
  body: unknown;
  /** The JSON body's bytes as the client sent them; parsed in the writer thread. */
  json?: Uint8Array;
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

const decoder = new TextDecoder();

/** The body the server already accepted (valid UTF-8 JSON within its limits); `{}` should it not parse. */
function parseBytes(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(decoder.decode(bytes)) as unknown;
  } catch {
    return {};
  }
}

/** Turns one queued item into the examples to store. */
export function prepareCapture(raw: RawCapture): CaptureInput[] {
  if (raw.kind === 'input') return [raw.item];
  const at = new Date(raw.at).toISOString();
  const labels = predictedLabels(raw.payload);
  const body = (raw.json ? parseBytes(raw.json) : (raw.body ?? {})) as { inputs?: unknown; texts?: unknown };
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
 * Readies a batch for the writer thread without copying what it can move. A body that owns
 * its whole buffer (Node gives bodies over 4 KiB one of their own) is moved as is; smaller
 * ones, which sit in Node's shared buffer pool, are copied into one buffer that is moved
 * (cloning a pooled view would copy the whole pool slab). Returns the batch with `json`
 * views on the moved buffers, and the buffers to transfer (compacted image buffers too).
 * The moved bodies are unusable here afterwards: only queued, already-answered requests' bytes are passed.
 */
export function packBatch(batch: RawCapture[]): { batch: RawCapture[]; transfer: ArrayBuffer[] } {
  const transfer = new Set<ArrayBuffer>();
  const owns = (b: Uint8Array): boolean =>
    b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.buffer instanceof ArrayBuffer && !transfer.has(b.buffer);
  let small = 0;
  for (const r of batch) {
    if (r.kind !== 'request') continue;
    if (r.x) transfer.add(r.x.buffer as ArrayBuffer);
    if (r.json && owns(r.json)) transfer.add(r.json.buffer as ArrayBuffer);
    else if (r.json) small += r.json.byteLength;
  }
  const shared = new Uint8Array(small);
  if (small > 0) transfer.add(shared.buffer);
  let offset = 0;
  const packed = batch.map((r): RawCapture => {
    if (r.kind !== 'request' || !r.json || transfer.has(r.json.buffer as ArrayBuffer)) return r;
    shared.set(r.json, offset);
    const view = shared.subarray(offset, offset + r.json.byteLength);
    offset += r.json.byteLength;
    return { ...r, json: view };
  });
  return { batch: packed, transfer: [...transfer] };
}

/**
 * For a request whose bytes were not kept (`json` absent): replaces an image request's nested-array body by one Float32Array of its first
 * `perRequest` examples (examples that are not `size` numbers are dropped, as `prepareCapture`
 * would); text bodies keep only their `texts`. Runs on the server's thread just before a
 * batch is handed over.
 */
export function compactCapture(raw: RawCapture): RawCapture {
  if (raw.kind !== 'request' || raw.json) return raw;
  const body = (raw.body ?? {}) as { inputs?: unknown; texts?: unknown };
  if (raw.channel === 'text') return { ...raw, body: { texts: Array.isArray(body.texts) ? body.texts.slice(0, raw.perRequest) : [] } };
  const size = raw.shape.reduce((a, b) => a * b, 1);
  const rows = (Array.isArray(body.inputs) ? body.inputs.slice(0, raw.perRequest) : []).map((e) => flatten(e, size + 1));
  const kept = rows.filter((r): r is number[] => r !== undefined && r.length === size);
  const x = new Float32Array(kept.length * size);
  kept.forEach((r, i) => x.set(r, i * size));
  return { ...raw, body: null, x };
}

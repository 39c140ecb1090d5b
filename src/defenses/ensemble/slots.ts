/**
 * The shared memory between the serving thread and the ensemble member thread: a ring of
 * request slots in one SharedArrayBuffer, signalled with Atomics instead of messages. A
 * message costs the serving thread a structured clone on send and an event-loop turn on
 * receipt (tens of microseconds each on these machines, a visible share of a
 * 0.4 ms request); a slot costs it a copy of the input and one `Atomics.notify`.
 *
 * Slot life: FREE → (serving thread writes the input and count) SUBMITTED → (member thread
 * takes it) RUNNING → (writes every member's logits) DONE or FAILED → (serving thread
 * reads) FREE. A SUBMITTED slot the member thread has not taken yet (it is busy, or the
 * core is) can be taken back by the serving thread (SUBMITTED → FREE, compare-and-swap),
 * which then runs the members itself rather than wait. The member
 * thread takes every SUBMITTED slot at once and runs them as one batch, so under load the
 * members' forward passes coalesce (one weight read for many requests).
 */

export const SLOT_FREE = 0;
export const SLOT_SUBMITTED = 1;
export const SLOT_DONE = 2;
export const SLOT_FAILED = 3;
/** Taken by the member thread (only a SUBMITTED slot the serving thread has not taken back). */
export const SLOT_RUNNING = 4;

/** Control words before the slot words. */
const DOORBELL = 0;
const STOP = 1;
const HEADER = 4;

export interface SlotGeometry {
  /** Number of slots (requests in flight at once). */
  slots: number;
  /** Examples one slot holds; larger requests are evaluated on the serving thread. */
  slotExamples: number;
  /** Floats per example of input. */
  exampleSize: number;
  /** Floats per example of output: members x classes. */
  outputSize: number;
}

/** Typed views over one shared buffer; both threads build the same views from the same geometry. */
export interface SlotViews {
  readonly geometry: SlotGeometry;
  readonly buffer: SharedArrayBuffer;
  /** Control words, then per slot: state, example count. */
  readonly words: Int32Array;
  readonly input: Float32Array;
  readonly output: Float32Array;
}

function bytes(g: SlotGeometry): { words: number; input: number; output: number } {
  const words = (HEADER + 2 * g.slots) * 4;
  const input = g.slots * g.slotExamples * g.exampleSize * 4;
  return { words, input, output: g.slots * g.slotExamples * g.outputSize * 4 };
}

/** Allocates the shared buffer for `g` (serving thread). */
export function createSlots(g: SlotGeometry): SlotViews {
  const b = bytes(g);
  return viewSlots(new SharedArrayBuffer(b.words + b.input + b.output), g);
}

/** Views over an existing buffer (member thread). */
export function viewSlots(buffer: SharedArrayBuffer, g: SlotGeometry): SlotViews {
  const b = bytes(g);
  return {
    geometry: g,
    buffer,
    words: new Int32Array(buffer, 0, b.words / 4),
    input: new Float32Array(buffer, b.words, b.input / 4),
    output: new Float32Array(buffer, b.words + b.input, b.output / 4),
  };
}

/** Index in `words` of slot `s`'s state word. */
export const stateWord = (g: SlotGeometry, s: number): number => HEADER + s;
/** Index in `words` of slot `s`'s example count. */
export const countWord = (g: SlotGeometry, s: number): number => HEADER + g.slots + s;
export const doorbellWord = DOORBELL;
export const stopWord = STOP;

/** Slot `s`'s input region (the first `count` examples are the request's). */
export function slotInput(v: SlotViews, s: number, count: number): Float32Array {
  const size = v.geometry.slotExamples * v.geometry.exampleSize;
  return v.input.subarray(s * size, s * size + count * v.geometry.exampleSize);
}

/** Slot `s`'s output region: per example, every member's logits in member order. */
export function slotOutput(v: SlotViews, s: number, count: number): Float32Array {
  const size = v.geometry.slotExamples * v.geometry.outputSize;
  return v.output.subarray(s * size, s * size + count * v.geometry.outputSize);
}

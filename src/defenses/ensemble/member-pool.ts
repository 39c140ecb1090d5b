/**
 * Ensemble members on a second core. The serving thread hands a request's batch to a
 * worker thread (member-thread.ts) BEFORE the served model runs, runs the served model,
 * then collects the members' logits, which by then are usually ready: at a load that
 * leaves the second core free, the ensemble's latency is the served model's plus a copy.
 * The hand-over is a slot in shared memory (slots.ts), not a message.
 *
 * Every failure degrades to the serving thread's own evaluation, never to a wrong or
 * missing verdict: no free slot, a batch larger than a slot, a thread that failed to
 * start, died, or did not answer within `timeoutMs` all make `submit`/`collect` return
 * `undefined`, and the caller then runs the members itself. So does a batch the thread
 * has not begun by the time it is collected (its core was busy): the serving thread takes
 * it back rather than wait, so the ensemble never costs more than running it inline.
 */
import { Worker } from 'node:worker_threads';
import { EngineError } from '../../core/errors.js';
import { engineInfo } from '../../engine/backend.js';
import type { ImageBatch } from '../layer.js';
import type { MemberSource, MemberThreadBoot, MemberThreadReply } from './member-thread.js';

export type { MemberSource } from './member-thread.js';
import {
  SLOT_DONE,
  SLOT_FAILED,
  SLOT_FREE,
  SLOT_RUNNING,
  SLOT_SUBMITTED,
  countWord,
  createSlots,
  doorbellWord,
  slotInput,
  slotOutput,
  stateWord,
  stopWord,
  type SlotGeometry,
} from './slots.js';

export interface MemberPoolOptions {
  /** Requests in flight at once (default 16); more wait for nobody: they run on the serving thread. */
  slots?: number;
  /** Examples one request may have to go to the thread (default 64, the serve default `maxBatch`). */
  slotExamples?: number;
  /** How long `collect` waits for the thread before giving up on it (default 2000 ms). */
  timeoutMs?: number;
  /** How long the thread may take to start and load the members (default 60 s). */
  startTimeoutMs?: number;
  /** TF.js backend of the thread (default: this thread's). */
  backend?: string;
  /**
   * How long `collect` polls a batch the thread is running before sleeping on it (default 0:
   * polling spends the serving thread's CPU, which is what the thread is there to save).
   */
  spinMicros?: number;
  /**
   * Hand batches to the thread only while it keeps pace (default true): when fewer than half
   * of the recent batches were done by the time they were collected (no core free for the
   * thread: the machine is oversubscribed), `submit` declines all but every
   * `probeEvery`-th batch, so the members run inline (cheaper then) until the thread
   * catches up again.
   */
  adaptive?: boolean;
  /** See `adaptive` (default 8). */
  probeEvery?: number;
}

/** What the members said about one submitted batch. */
export interface MemberResult {
  /** Per member, predicted class per example. */
  labels: Int32Array[];
  /** Per member, logits `[count, classes]` row-major. */
  logits: Float32Array[];
}

export interface MemberPool {
  /** Classes of each member, in member order. */
  readonly classes: readonly number[];
  /** Moving share of recent batches the thread had finished by the time they were collected. */
  pace(): number;
  /** Starts the members on `batch`; a ticket for `collect`, or undefined when the thread cannot take it. */
  submit(batch: ImageBatch): number | undefined;
  /**
   * The members' result for a ticket, or undefined when the thread failed, timed out, or had
   * not begun the batch (then taken back, unless `wait`). Call once per ticket.
   */
  collect(ticket: number, options?: { wait?: boolean }): Promise<MemberResult | undefined>;
  /** Stops the thread; pending `collect`s return undefined. */
  close(): Promise<void>;
}

/** Bound on the shared buffer's input area: slots x examples x example size stays under this many floats. */
const MAX_SHARED_FLOATS = 4 << 20;
const MAX_SLOTS = 64;

function spawn(boot: MemberThreadBoot): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./member-thread.js', import.meta.url), { workerData: boot });
  // Under tsx on Node 20 a .ts worker entry needs tsx registered inside the thread (see execution/pool/spawn.ts).
  const entry = new URL('./member-thread.ts', import.meta.url).href;
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(bootstrap, { eval: true, execArgv: [], workerData: boot });
}

type WaitAsync = (a: Int32Array, index: number, value: number, timeout?: number) => { async: boolean; value: unknown };

/**
 * Starts a member thread that loads the members in `sources` (model directories, or
 * members of a fused ensemble's directory; each taking `inputShape`, member i with
 * `classes[i]` classes: the caller has loaded them already, for its own fallback).
 *
 * @throws EngineError `E_ENSEMBLE_THREAD` when the thread fails to start or to load a member
 *   (the message carries the thread's reason) or is not ready within `startTimeoutMs`.
 * @example const pool = await startMemberPool(['runs/a/model'], [28, 28, 1], [10]);
 */
export async function startMemberPool(
  sources: readonly MemberSource[],
  inputShape: readonly number[],
  classes: readonly number[],
  options: MemberPoolOptions = {},
): Promise<MemberPool> {
  const exampleSize = inputShape.reduce((a, b) => a * b, 1);
  const slots = Math.max(1, Math.min(MAX_SLOTS, options.slots ?? 16));
  const slotExamples = Math.max(1, Math.min(options.slotExamples ?? 64, Math.floor(MAX_SHARED_FLOATS / (slots * exampleSize))));
  const timeoutMs = options.timeoutMs ?? 2000;
  const spinMs = (options.spinMicros ?? 0) / 1000;
  const probeEvery = Math.max(1, options.probeEvery ?? 8);
  const g: SlotGeometry = { slots, slotExamples, exampleSize, outputSize: classes.reduce((a, b) => a + b, 0) };
  const v = createSlots(g);
  const backend = options.backend ?? engineInfo()?.backend;
  const worker = spawn({
    buffer: v.buffer,
    geometry: g,
    sources: [...sources],
    inputShape: [...inputShape],
    ...(backend ? { backend } : {}),
  });
  const fail = (reason: string): EngineError =>
    new EngineError(
      'E_ENSEMBLE_THREAD',
      `The ensemble member thread could not start: ${reason}. Check that every member model loads (rampart serve --model DIR), or serve without layers.ensemble.`,
      { details: { sources } },
    );
  let dead = false;
  const failSubmitted = (): void => {
    dead = true;
    // Wakes every waiting `collect`, which then falls back to the serving thread.
    for (let s = 0; s < slots; s++) {
      const w = stateWord(g, s);
      for (const from of [SLOT_SUBMITTED, SLOT_RUNNING])
        if (Atomics.compareExchange(v.words, w, from, SLOT_FAILED) === from) Atomics.notify(v.words, w);
    }
  };
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      void worker.terminate();
      reject(fail(`not ready after ${options.startTimeoutMs ?? 60_000} ms`));
    }, options.startTimeoutMs ?? 60_000);
    const settle = (error?: EngineError): void => {
      clearTimeout(timer);
      worker.off('message', onMessage);
      if (error) {
        void worker.terminate();
        reject(error);
      } else resolve();
    };
    const onMessage = (m: MemberThreadReply): void => {
      if (m.type === 'init-error') settle(fail(m.message));
      else if (m.classes.join(',') !== classes.join(','))
        settle(fail(`the thread's members have ${m.classes.join(', ')} classes, not ${classes.join(', ')}`));
      else settle();
    };
    worker.on('message', onMessage);
    worker.once('error', (e) => settle(fail(e instanceof Error ? e.message : String(e))));
    worker.once('exit', (code) => settle(fail(`the thread exited with code ${code}`)));
  });
  let exited = false;
  worker.on('error', failSubmitted);
  worker.on('exit', () => {
    exited = true;
    failSubmitted();
  });
  // An idle thread must not keep the process alive; one with work in flight must (see submit).
  worker.unref();
  /**
   * Main-side bookkeeping per slot: the ticket generation (a late `collect` never reads a
   * reused slot), when it was submitted, and whether a ticket is still open. A request the
   * pipeline denied before its output stage never collects; its slot is reclaimed once it
   * is older than `timeoutMs`.
   */
  const gen = new Array<number>(slots).fill(0);
  const submittedAt = new Array<number>(slots).fill(0);
  const open = new Array<boolean>(slots).fill(false);
  let openCount = 0;
  const closeTicket = (s: number): void => {
    if (!open[s]) return;
    open[s] = false;
    openCount -= 1;
    if (openCount === 0) worker.unref();
  };
  const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;
  const usable = (s: number, now: number): boolean => {
    const state = Atomics.load(v.words, stateWord(g, s));
    if (state === SLOT_FREE) return true;
    // Finished but never collected (its request ended early) or given up on by `collect`.
    return state !== SLOT_SUBMITTED && state !== SLOT_RUNNING && now - (submittedAt[s] as number) > timeoutMs;
  };
  /** Moving share of collected batches the thread had finished in time (1/16 per batch). */
  let onTime = 1;
  let declined = 0;
  const record = (inTime: boolean): void => {
    onTime += ((inTime ? 1 : 0) - onTime) / 16;
  };
  return {
    classes,
    pace: () => onTime,
    submit(batch) {
      if (dead || batch.count > slotExamples || batch.x.length !== batch.count * exampleSize) return undefined;
      if (options.adaptive !== false && onTime < 0.5 && ++declined % probeEvery !== 0) return undefined;
      const now = performance.now();
      for (let s = 0; s < slots; s++) {
        if (!usable(s, now)) continue;
        closeTicket(s);
        gen[s] = (gen[s] as number) + 1;
        submittedAt[s] = now;
        slotInput(v, s, batch.count).set(batch.x);
        Atomics.store(v.words, countWord(g, s), batch.count);
        Atomics.store(v.words, stateWord(g, s), SLOT_SUBMITTED);
        Atomics.add(v.words, doorbellWord, 1);
        Atomics.notify(v.words, doorbellWord);
        open[s] = true;
        if (openCount++ === 0) worker.ref();
        return s * 0x10000 + ((gen[s] as number) & 0xffff);
      }
      return undefined;
    },
    async collect(ticket, options = {}) {
      const s = Math.floor(ticket / 0x10000);
      const w = stateWord(g, s);
      const mine = (): boolean => open[s] === true && ((gen[s] as number) & 0xffff) === ticket % 0x10000;
      if (!mine()) return undefined;
      try {
        if (!options.wait) record(Atomics.load(v.words, w) === SLOT_DONE);
        // Not taken by the thread yet (busy, or its core is): take it back and let the caller run the members.
        if (!options.wait && Atomics.compareExchange(v.words, w, SLOT_SUBMITTED, SLOT_FREE) === SLOT_SUBMITTED) return undefined;
        const spinUntil = performance.now() + spinMs;
        while (Atomics.load(v.words, w) === SLOT_RUNNING && performance.now() < spinUntil);
        for (let state = Atomics.load(v.words, w); state === SLOT_SUBMITTED || state === SLOT_RUNNING; state = Atomics.load(v.words, w)) {
          const left = timeoutMs - (performance.now() - (submittedAt[s] as number));
          if (left <= 0) break;
          const wait = waitAsync(v.words, w, state, left);
          if (wait.async) await wait.value;
        }
        const state = Atomics.load(v.words, w);
        // Still queued or running after the timeout: the slot is reclaimed once the thread is done with it.
        if (!mine() || state !== SLOT_DONE) {
          if (mine() && state === SLOT_FAILED) Atomics.store(v.words, w, SLOT_FREE);
          return undefined;
        }
        const count = Atomics.load(v.words, countWord(g, s));
        const out = slotOutput(v, s, count);
        const result: MemberResult = { labels: [], logits: [] };
        let col = 0;
        for (const k of classes) {
          const logits = new Float32Array(count * k);
          const labels = new Int32Array(count);
          for (let e = 0; e < count; e++) {
            const row = e * g.outputSize + col;
            let best = 0;
            for (let c = 0; c < k; c++) {
              const value = out[row + c] as number;
              logits[e * k + c] = value;
              if (value > (out[row + best] as number)) best = c;
            }
            labels[e] = best;
          }
          result.labels.push(labels);
          result.logits.push(logits);
          col += k;
        }
        Atomics.store(v.words, w, SLOT_FREE);
        return result;
      } finally {
        if (mine()) closeTicket(s);
      }
    },
    async close() {
      dead = true;
      if (exited) return;
      Atomics.store(v.words, stopWord, 1);
      Atomics.add(v.words, doorbellWord, 1);
      Atomics.notify(v.words, doorbellWord);
      const gone = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      const timer = setTimeout(() => void worker.terminate(), 1000);
      worker.ref();
      await gone;
      clearTimeout(timer);
    },
  };
}

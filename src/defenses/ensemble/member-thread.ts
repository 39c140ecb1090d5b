/**
 * Worker-thread entry of the ensemble member pool (member-pool.ts): its own TF.js engine
 * (the wasm backend is single-threaded, so a second core is only reachable from another
 * thread), its own copy of the member models, and a loop that sleeps in `Atomics.wait`
 * until the serving thread rings the doorbell. Every submitted slot is taken at once and
 * the members run on them as ONE batch, so requests that arrive while the thread is busy
 * share the next forward pass. Loaded as compiled JS and, under tsx, as this .ts file.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../engine/backend.js';
import { loadClassifierModel } from '../../models/store.js';
import { fastForward, fusedMemberOutputs, headForwards, type Forward } from './fast-forward.js';
import {
  SLOT_DONE,
  SLOT_FAILED,
  SLOT_RUNNING,
  SLOT_SUBMITTED,
  countWord,
  doorbellWord,
  slotInput,
  slotOutput,
  stateWord,
  stopWord,
  viewSlots,
  type SlotGeometry,
  type SlotViews,
} from './slots.js';

/** A member model directory, or some members (by index) of the fused ensemble saved there. */
export type MemberSource = string | { dir: string; heads: number[] };

export interface MemberThreadBoot {
  buffer: SharedArrayBuffer;
  geometry: SlotGeometry;
  sources: MemberSource[];
  inputShape: number[];
  backend?: string;
}

export type MemberThreadReply = { type: 'ready'; classes: number[] } | { type: 'init-error'; message: string };

/** Runs the members on the submitted slots `ready` as one batch and writes each slot's logits. */
function runBatch(v: SlotViews, forwards: readonly Forward[], classes: readonly number[], inputShape: number[], ready: number[]): void {
  const g = v.geometry;
  const counts = ready.map((s) => Atomics.load(v.words, countWord(g, s)));
  const total = counts.reduce((a, b) => a + b, 0);
  const x = new Float32Array(total * g.exampleSize);
  let at = 0;
  ready.forEach((s, i) => {
    x.set(slotInput(v, s, counts[i] as number), at);
    at += (counts[i] as number) * g.exampleSize;
  });
  const outputs = forwards.map((forward) => {
    const logits = tf.tidy(() => forward(tf.tensor(x, [total, ...inputShape])));
    const data = logits.dataSync() as Float32Array;
    logits.dispose();
    return data;
  });
  let row = 0;
  ready.forEach((s, i) => {
    const count = counts[i] as number;
    const out = slotOutput(v, s, count);
    for (let e = 0; e < count; e++, row++) {
      let col = e * g.outputSize;
      outputs.forEach((data, m) => {
        const k = classes[m] as number;
        out.set(data.subarray(row * k, (row + 1) * k), col);
        col += k;
      });
    }
  });
}

function serve(v: SlotViews, forwards: readonly Forward[], classes: readonly number[], inputShape: number[]): void {
  const g = v.geometry;
  for (;;) {
    const bell = Atomics.load(v.words, doorbellWord);
    if (Atomics.load(v.words, stopWord) !== 0) return;
    const ready: number[] = [];
    // Compare-and-swap: the serving thread may be taking the same slot back.
    for (let s = 0; s < g.slots; s++)
      if (Atomics.compareExchange(v.words, stateWord(g, s), SLOT_SUBMITTED, SLOT_RUNNING) === SLOT_SUBMITTED) ready.push(s);
    if (ready.length === 0) {
      // Returns at once when a slot was submitted since `bell` was read.
      Atomics.wait(v.words, doorbellWord, bell);
      continue;
    }
    let state = SLOT_DONE;
    try {
      runBatch(v, forwards, classes, inputShape, ready);
    } catch {
      // The serving thread evaluates a failed slot's members itself.
      state = SLOT_FAILED;
    }
    for (const s of ready) {
      Atomics.store(v.words, stateWord(g, s), state);
      Atomics.notify(v.words, stateWord(g, s));
    }
  }
}

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('src/defenses/ensemble/member-thread.ts must run as a worker thread.');
  const boot = workerData as MemberThreadBoot;
  const views = viewSlots(boot.buffer, boot.geometry);
  let forwards: Forward[];
  let classes: number[];
  try {
    await initEngine(boot.backend === undefined ? {} : { backend: boot.backend });
    forwards = [];
    classes = [];
    for (const source of boot.sources) {
      const stored = await loadClassifierModel(typeof source === 'string' ? source : source.dir);
      if (typeof source === 'string') {
        forwards.push(fastForward(stored));
        classes.push(stored.classifier.numClasses);
        continue;
      }
      const outputs = fusedMemberOutputs(stored.model);
      const heads = source.heads.map((h) => outputs?.[h]);
      if (heads.some((h) => h === undefined))
        throw new Error(`${source.dir} is not a fused ensemble with members ${source.heads.join(', ')}`);
      forwards.push(...headForwards(stored.model, heads as tf.SymbolicTensor[]));
      classes.push(...heads.map((h) => h?.shape.at(-1) as number));
    }
    // Warm-up: the first pass of each shape compiles kernels and packs weights.
    runWarmup(forwards, boot.inputShape);
  } catch (error) {
    port.postMessage({ type: 'init-error', message: error instanceof Error ? error.message : String(error) } satisfies MemberThreadReply);
    return;
  }
  port.postMessage({ type: 'ready', classes } satisfies MemberThreadReply);
  serve(views, forwards, classes, boot.inputShape);
  process.exit(0);
}

function runWarmup(forwards: readonly Forward[], inputShape: number[]): void {
  for (const forward of forwards) tf.tidy(() => forward(tf.zeros([1, ...inputShape]))).dispose();
}

void main();

/**
 * The walk every ranked search shares: rank the words (`WordRanker`), extend the kept states
 * word by word with each candidate, keep the best `beamWidth`, then refine the changed words
 * with the queries left. Greedy is a width of 1.
 */
import type { TextChange } from '../types.js';
import { labelMass, type ExampleSearch, type SearchState } from './example.js';

/**
 * Orders the editable words of an example, most promising first. May spend queries through
 * `example.query` (leave-one-out) or white-box passes recorded with `example.countPasses`.
 */
export type WordRanker = (example: ExampleSearch, clean: SearchState) => Promise<number[]>;

/**
 * Importance of each editable word by leaving it out (Jin et al. 2020, TextFooler): the drop
 * in the true-class probability when the word is deleted. One query per editable word.
 */
export const leaveOneOutRanker: WordRanker = async (example, clean) => {
  const texts = example.editable.map((w) =>
    example.render(new Map([[w, { index: w, from: example.word(w), to: '', transformation: 'delete' }]])),
  );
  const probs = await example.query(texts);
  const base = labelMass(clean.probs, example.label);
  const importance = new Map<number, number>();
  example.editable.forEach((w, k) => {
    const row = probs[k];
    // Words the query cap left unscored go last, in text order.
    importance.set(w, row ? base - labelMass(row, example.label) : Number.NEGATIVE_INFINITY);
  });
  return orderByImportance(example.editable, importance);
};

/** Sorts word indices by descending importance, ties in text order. */
export function orderByImportance(words: readonly number[], importance: ReadonlyMap<number, number>): number[] {
  return [...words].sort((a, b) => (importance.get(b) as number) - (importance.get(a) as number) || a - b);
}

/**
 * Walks the ranked words once. At each word every kept state is extended with every
 * candidate for it (when the state still has budget), the extensions are scored in one
 * batch, and the best `beamWidth` states among the old and the new survive. With a width of
 * 1 this is the greedy word-importance search. Stops at the first success. When the walk
 * ends without one and queries remain, `refinePasses` passes re-draw candidates for the
 * words already changed (see {@link refineChanges}).
 */
export async function searchRanked(
  example: ExampleSearch,
  order: readonly number[],
  clean: SearchState,
  beamWidth: number,
  refinePasses = 0,
): Promise<SearchState> {
  let beams: SearchState[] = [clean];
  for (const w of order) {
    if (beams.some((b) => example.isSuccess(b.probs)) || example.remaining === 0) break;
    const open = beams.filter((b) => b.changes.size < example.budget);
    if (open.length === 0) break;
    const candidates = example.candidates(w, candidateAllowance(example, open));
    if (candidates.length === 0) continue;
    const scored = await scoreExtensions(example, open, w, candidates);
    // The first beam's extensions come first, one per candidate, in order.
    const firstBeam = scored
      .slice(0, candidates.length)
      .map((s, k) => ({ transformation: (candidates[k] as { transformation: string }).transformation, probs: s.probs }));
    example.recordEffect((open[0] as SearchState).probs, firstBeam);
    const before = beams[0];
    beams = keepBest(example, [...beams, ...scored], beamWidth);
    if (beams[0] !== before) example.kept(beams[0] as SearchState);
    const kept = (beams[0] as SearchState).changes.get(w);
    if (kept) example.recordWin(kept.transformation);
  }
  const best = beams[0] as SearchState;
  return refinePasses > 0 ? refineChanges(example, best, order, refinePasses) : best;
}

/**
 * Candidates per transformation for the next word: the configured count, lowered when the
 * queries left would not stretch over the words the budget still allows at that rate. A
 * long message under a query cap then spends its whole word budget on cheaper words
 * instead of running out of queries half way; a short one keeps the full count (and the
 * refinement phase spends what is left).
 */
function candidateAllowance(example: ExampleSearch, open: readonly SearchState[]): number {
  const configured = example.perTransformation;
  if (!Number.isFinite(example.remaining)) return configured;
  const wordsLeft = Math.max(1, example.budget - Math.min(...open.map((b) => b.changes.size)));
  const perWord = example.remaining / wordsLeft / open.length;
  return Math.max(1, Math.min(configured, Math.floor(perWord / Math.max(1, example.activeTransformations))));
}

/**
 * Every state extended with every candidate replacement of word `w`, scored in one batch
 * (state-major: all of the first state's extensions first). Fewer come back when the
 * query cap cuts the batch.
 */
async function scoreExtensions(
  example: ExampleSearch,
  states: readonly SearchState[],
  w: number,
  candidates: readonly { to: string; transformation: string }[],
): Promise<SearchState[]> {
  const extended: { changes: Map<number, TextChange>; text: string }[] = [];
  for (const state of states) {
    for (const c of candidates) {
      const changes = new Map(state.changes);
      changes.set(w, { index: w, from: example.word(w), to: c.to, transformation: c.transformation });
      extended.push({ changes, text: example.render(changes) });
    }
  }
  const probs = await example.query(extended.map((e) => e.text));
  return probs.map((p, k) => ({ ...(extended[k] as { changes: Map<number, TextChange>; text: string }), probs: p }));
}

/** The `width` best distinct states, old ones first among equals (a stable sort). */
function keepBest(example: ExampleSearch, pool: SearchState[], width: number): SearchState[] {
  const sorted = pool.sort((a, b) => example.score(a.probs) - example.score(b.probs));
  const seen = new Set<string>();
  const out: SearchState[] = [];
  for (const s of sorted) {
    if (seen.has(s.text)) continue;
    seen.add(s.text);
    out.push(s);
    if (out.length >= width) break;
  }
  return out;
}

/**
 * Refinement once the word budget is spent (or the ranking walked) without a flip: the
 * changed words are revisited in ranking order, each offered fresh candidates (of the
 * original word) in the context of all the other changes, and the best replacement is kept
 * when it lowers the objective. A word's first candidates were chosen before the later
 * words changed, and a few dozen random edits rarely hold the best one, so the leftover
 * queries buy a better edit of the same words, within the same budget. Stops at a flip, at
 * the query cap, after `passes` passes, or after a pass that changed nothing.
 */
export async function refineChanges(
  example: ExampleSearch,
  start: SearchState,
  order: readonly number[],
  passes: number,
): Promise<SearchState> {
  let state = start;
  for (let pass = 0; pass < passes; pass++) {
    let improved = false;
    for (const w of order.filter((v) => state.changes.has(v))) {
      if (example.isSuccess(state.probs) || example.remaining === 0) return state;
      const current = state.changes.get(w) as TextChange;
      const candidates = [...example.neighbours(w, current.to), ...example.candidates(w)];
      if (candidates.length === 0) continue;
      const scored = await scoreExtensions(example, [state], w, candidates);
      const next = keepBest(example, [state, ...scored], 1)[0] as SearchState;
      if (next !== state) {
        state = next;
        example.kept(state);
        improved = true;
        example.recordWin((next.changes.get(w) as TextChange).transformation);
      }
    }
    if (!improved || example.isSuccess(state.probs)) break;
  }
  return state;
}

/**
 * Shared plumbing for transformations: a frozen definition and a sampler that turns a random
 * single proposal into up to `limit` distinct candidates within the character budget. Every
 * character-level family goes through `sampleCandidates`, so the budget check lives once.
 */
import type { Rng } from '../../../core/rng.js';
import type { TextFamily } from '../../../threats/text-threat.js';
import type { TextTransformation } from '../types.js';
import { charEditDistance, codePoints } from '../tokens.js';

export interface CandidateOptions {
  limit: number;
  maxCharEdits: number;
}

/** Freezes a transformation so its id/version cannot drift at run time. */
export function defineTransformation(spec: {
  id: string;
  version: number;
  family: TextFamily;
  description: string;
  candidates: (word: string, rng: Rng, options: CandidateOptions) => string[];
}): TextTransformation {
  return Object.freeze({ ...spec });
}

/**
 * Calls `propose(edits)` repeatedly with a random edit count in [1, maxEdits] and keeps
 * distinct results that differ from `word` and stay within `maxCharEdits` edits. Draws
 * only from `rng`, so equal rng states give equal lists.
 */
export function sampleCandidates(
  word: string,
  rng: Rng,
  options: CandidateOptions,
  maxEdits: number,
  propose: (edits: number) => string | undefined,
): string[] {
  const out: string[] = [];
  const budget = Math.min(Math.floor(options.maxCharEdits), maxEdits);
  if (options.limit <= 0 || budget < 1) return out;
  const seen = new Set<string>([word]);
  const attempts = 8 * options.limit + 8;
  for (let a = 0; a < attempts && out.length < options.limit; a++) {
    const candidate = propose(1 + rng.int(budget));
    if (candidate === undefined || seen.has(candidate)) continue;
    seen.add(candidate);
    // Sequential edits can overlap (two swaps of one pair undo each other), so the count of
    // operations is not the distance; the distance is what the budget promises.
    if (charEditDistance(word, candidate) <= options.maxCharEdits) out.push(candidate);
  }
  return out;
}

/** `count` distinct positions drawn from [lo, hi), fewer if the range is smaller, sorted descending. */
export function distinctPositions(rng: Rng, lo: number, hi: number, count: number): number[] {
  const pool: number[] = [];
  for (let i = lo; i < hi; i++) pool.push(i);
  rng.shuffle(pool);
  return pool.slice(0, Math.min(count, pool.length)).sort((a, b) => b - a);
}

export function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[rng.int(items.length)] as T;
}

export { codePoints };

/** The letter in the other case, or undefined when flipping would change the length or not round-trip (ß, ǅ). */
export function flipCase(ch: string): string | undefined {
  const upper = ch.toUpperCase();
  const lower = ch.toLowerCase();
  if (upper === lower || codePoints(upper).length !== 1 || codePoints(lower).length !== 1) return undefined;
  const flipped = ch === upper ? lower : upper;
  return flipped === ch || flipped.toUpperCase() !== upper ? undefined : flipped;
}

/** A random letter in the case of its neighbour, so inserted letters do not stand out. */
export function randomLetterLike(rng: Rng, neighbour: string | undefined): string {
  const letter = String.fromCharCode(97 + rng.int(26));
  return neighbour !== undefined && neighbour !== neighbour.toLowerCase() ? letter.toUpperCase() : letter;
}

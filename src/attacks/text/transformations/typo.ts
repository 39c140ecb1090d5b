/**
 * Keyboard typos: a character replaced by one of its QWERTY neighbours, the slip a human
 * makes (and the one spell checkers are tuned to forgive). One substitution is one edit.
 */
import type { TextTransformation } from '../types.js';
import { codePoints, defineTransformation, distinctPositions, pick, sampleCandidates } from './define.js';

const ROWS = ['1234567890', 'qwertyuiop', 'asdfghjkl', 'zxcvbnm'];
// Rows are staggered by about half a key, so a key touches the two keys above/below it at
// the same column and the one to the right above (or left below).
const NEIGHBOURS: ReadonlyMap<string, string> = (() => {
  const map = new Map<string, string>();
  ROWS.forEach((row, r) => {
    [...row].forEach((key, c) => {
      const near = [row[c - 1], row[c + 1], ROWS[r - 1]?.[c], ROWS[r - 1]?.[c + 1], ROWS[r + 1]?.[c], ROWS[r + 1]?.[c - 1]];
      map.set(key, near.filter((k): k is string => k !== undefined).join(''));
    });
  });
  return map;
})();

/** QWERTY neighbours of a key (lower case), empty for keys off the letter/digit block. */
export function keyboardNeighbours(key: string): string {
  return NEIGHBOURS.get(key.toLowerCase()) ?? '';
}

export const keyboardTypo: TextTransformation = defineTransformation({
  id: 'typo-keyboard',
  version: 1,
  family: 'typo',
  description: 'Replaces characters with a QWERTY neighbour key, keeping case ("free" -> "frwe").',
  candidates(word, rng, options) {
    const chars = codePoints(word);
    const typeable = chars.map((ch, i) => (keyboardNeighbours(ch).length > 0 ? i : -1)).filter((i) => i >= 0);
    return sampleCandidates(word, rng, options, typeable.length, (edits) => {
      const out = [...chars];
      for (const k of distinctPositions(rng, 0, typeable.length, edits)) {
        const p = typeable[k] as number;
        const ch = out[p] as string;
        const next = pick(rng, [...keyboardNeighbours(ch)]);
        out[p] = ch === ch.toLowerCase() ? next : next.toUpperCase();
      }
      return out.join('');
    });
  },
});

export const TYPO_TRANSFORMATIONS: readonly TextTransformation[] = [keyboardTypo];

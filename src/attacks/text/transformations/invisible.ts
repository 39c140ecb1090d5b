/**
 * Invisible characters: zero-width and other default-ignorable code points inserted inside
 * a word. The text renders unchanged, yet a byte- or token-level filter sees a new word.
 */
import type { TextTransformation } from '../types.js';
import { codePoints, defineTransformation, distinctPositions, pick, sampleCandidates } from './define.js';

/** Zero width space, non-joiner, joiner, word joiner, BOM/ZWNBSP, soft hyphen. */
export const INVISIBLE_CHARACTERS: readonly string[] = ['\u200B', '\u200C', '\u200D', '\u2060', '\uFEFF', '\u00AD'];

export const invisible: TextTransformation = defineTransformation({
  id: 'invisible',
  version: 1,
  family: 'invisible',
  description: 'Inserts zero-width characters (U+200B/C/D, U+2060, U+FEFF, soft hyphen) after letters of the word.',
  candidates(word, rng, options) {
    const chars = codePoints(word);
    return sampleCandidates(word, rng, options, chars.length, (edits) => {
      const out = [...chars];
      // Positions after a character (1..n), so the word never starts with an invisible.
      for (const p of distinctPositions(rng, 1, chars.length + 1, edits)) out.splice(p, 0, pick(rng, INVISIBLE_CHARACTERS));
      return out.join('');
    });
  },
});

export const INVISIBLE_TRANSFORMATIONS: readonly TextTransformation[] = [invisible];

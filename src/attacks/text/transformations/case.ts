/**
 * Case tricks: the case of some letters flipped ("free" -> "fReE"). Defeats case-sensitive
 * vocabularies and exact-match lists; a lower-casing model is immune, which is the point of
 * measuring it. One flipped letter is one edit.
 */
import type { TextTransformation } from '../types.js';
import { codePoints, defineTransformation, distinctPositions, flipCase, sampleCandidates } from './define.js';

export const caseFlip: TextTransformation = defineTransformation({
  id: 'case-flip',
  version: 1,
  family: 'case',
  description: 'Flips the case of some letters ("free" -> "fReE").',
  candidates(word, rng, options) {
    const chars = codePoints(word);
    const flippable = chars.map((ch, i) => (flipCase(ch) !== undefined ? i : -1)).filter((i) => i >= 0);
    return sampleCandidates(word, rng, options, flippable.length, (edits) => {
      const out = [...chars];
      for (const k of distinctPositions(rng, 0, flippable.length, edits)) {
        const p = flippable[k] as number;
        out[p] = flipCase(out[p] as string) as string;
      }
      return out.join('');
    });
  },
});

export const CASE_TRANSFORMATIONS: readonly TextTransformation[] = [caseFlip];

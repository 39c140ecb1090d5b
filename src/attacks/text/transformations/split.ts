/**
 * Word splitting: a space or a punctuation mark inserted inside a word ("fr ee", "fr.ee").
 * A keyword match fails while a reader rejoins the pieces. One inserted mark is one edit.
 */
import type { Rng } from '../../../core/rng.js';
import type { TextTransformation } from '../types.js';
import { codePoints, defineTransformation, distinctPositions, pick, sampleCandidates, type CandidateOptions } from './define.js';

export const SPLIT_PUNCTUATION: readonly string[] = ['.', '-', '_', '*', '·', ','];

function splitWith(word: string, rng: Rng, options: CandidateOptions, marks: readonly string[]): string[] {
  const chars = codePoints(word);
  return sampleCandidates(word, rng, options, chars.length - 1, (edits) => {
    const out = [...chars];
    for (const p of distinctPositions(rng, 1, chars.length, edits)) out.splice(p, 0, pick(rng, marks));
    return out.join('');
  });
}

export const splitSpace: TextTransformation = defineTransformation({
  id: 'split-space',
  version: 1,
  family: 'split',
  description: 'Splits the word with spaces inside it ("free" -> "fr ee").',
  candidates: (word, rng, options) => splitWith(word, rng, options, [' ']),
});

export const splitPunct: TextTransformation = defineTransformation({
  id: 'split-punct',
  version: 1,
  family: 'split',
  description: 'Splits the word with punctuation inside it ("free" -> "fr.ee", "f-ree").',
  candidates: (word, rng, options) => splitWith(word, rng, options, SPLIT_PUNCTUATION),
});

export const SPLIT_TRANSFORMATIONS: readonly TextTransformation[] = [splitSpace, splitPunct];

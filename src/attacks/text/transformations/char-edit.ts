/**
 * Character edits (Gao et al. 2018, "Black-box Generation of Adversarial Text Sequences to
 * Evade Deep Learning Classifiers", DeepWordBug, https://arxiv.org/abs/1801.04354): swap
 * adjacent characters, insert, delete or substitute a letter. Each operation is one edit.
 */
import type { TextTransformation } from '../types.js';
import { codePoints, defineTransformation, distinctPositions, randomLetterLike, sampleCandidates } from './define.js';

export const charSwap: TextTransformation = defineTransformation({
  id: 'char-swap',
  version: 1,
  family: 'char-edit',
  description: 'Swaps two adjacent, different characters ("free" -> "rfee").',
  candidates(word, rng, options) {
    const chars = codePoints(word);
    return sampleCandidates(word, rng, options, Math.floor(chars.length / 2), (edits) => {
      const out = [...chars];
      for (let e = 0; e < edits; e++) {
        const p = rng.int(out.length - 1);
        if (out[p] === out[p + 1]) continue;
        [out[p], out[p + 1]] = [out[p + 1] as string, out[p] as string];
      }
      return out.join('');
    });
  },
});

export const charInsert: TextTransformation = defineTransformation({
  id: 'char-insert',
  version: 1,
  family: 'char-edit',
  description: 'Inserts a random letter (in the case of its neighbour) at a random position.',
  candidates(word, rng, options) {
    const chars = codePoints(word);
    return sampleCandidates(word, rng, options, Number.POSITIVE_INFINITY, (edits) => {
      const out = [...chars];
      for (let e = 0; e < edits; e++) {
        const p = rng.int(out.length + 1);
        out.splice(p, 0, randomLetterLike(rng, out[p] ?? out[p - 1]));
      }
      return out.join('');
    });
  },
});

export const charDelete: TextTransformation = defineTransformation({
  id: 'char-delete',
  version: 1,
  family: 'char-edit',
  description: 'Deletes characters, always keeping at least one.',
  candidates(word, rng, options) {
    const chars = codePoints(word);
    return sampleCandidates(word, rng, options, chars.length - 1, (edits) => {
      const out = [...chars];
      for (const p of distinctPositions(rng, 0, out.length, edits)) out.splice(p, 1);
      return out.join('');
    });
  },
});

export const charSubstitute: TextTransformation = defineTransformation({
  id: 'char-substitute',
  version: 1,
  family: 'char-edit',
  description: 'Replaces characters with random different letters (case kept).',
  candidates(word, rng, options) {
    const chars = codePoints(word);
    return sampleCandidates(word, rng, options, chars.length, (edits) => {
      const out = [...chars];
      for (const p of distinctPositions(rng, 0, out.length, edits)) out[p] = randomLetterLike(rng, out[p]);
      return out.join('');
    });
  },
});

export const CHAR_EDIT_TRANSFORMATIONS: readonly TextTransformation[] = [charSwap, charInsert, charDelete, charSubstitute];

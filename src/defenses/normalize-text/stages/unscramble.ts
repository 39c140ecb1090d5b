/**
 * `unscramble`: replace an unknown word of 4+ letters (any case) spelled with exactly the letters
 * of a vocabulary word, within two adjacent swaps ("natrue", "Fniance"), by that word (the most
 * frequent, if several). Swapping letters is the cheapest edit an attacker has, and the repair
 * depends only on the letters, so he cannot steer it the way a nearest-word repair can be steered.
 */
import { overLong } from '../budget.js';
import { inCaseOf, rewriteWords } from '../words.js';
import type { StageFn } from './types.js';

export const unscrambleStage: StageFn = (text, { lexicon, spelling }) => {
  if (spelling === undefined) return { text, changes: 0 };
  return rewriteWords(text, /\p{L}+/gu, (token) => {
    if (Array.from(token).length < 4 || overLong(token)) return undefined;
    const lower = token.toLowerCase();
    if (lexicon.has(lower)) return undefined;
    const fixed = spelling.unscramble(lower);
    return fixed === undefined ? undefined : inCaseOf(token, fixed);
  });
};

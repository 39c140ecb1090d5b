/**
 * `spelling`: replace an unknown lower- or upper-case word of 4+ letters by the most frequent known
 * word within one edit (two from 6 letters): typos, swapped and dropped letters (see
 * `../spelling.ts`). Capitalised words are left alone (names) unless `repairCapitalised` is set.
 */
import { overLong } from '../budget.js';
import { inCaseOf, rewriteWords } from '../words.js';
import type { StageFn } from './types.js';

export const spellingStage: StageFn = (text, { lexicon, spelling, repairCapitalised }) => {
  if (spelling === undefined) return { text, changes: 0 };
  return rewriteWords(text, /[\p{L}\p{N}@$!|+'’]+/gu, (token) => {
    // No word that long is a misspelling; looking it up would cost ~n² deletions (see budget.ts).
    if (overLong(token)) return undefined;
    // Letters only, or lower-case letters with one mistyped digit inside or at the end ("m9ney", "chea0").
    const typedDigit = /^\p{Ll}+[0-9]\p{Ll}*$/u.test(token) && !lexicon.has(token.replace(/[0-9]$/, ''));
    if (!typedDigit && !/^\p{L}+$/u.test(token)) return undefined;
    if (Array.from(token).length < 4) return undefined;
    const lower = token.toLowerCase();
    const upper = token.toUpperCase();
    const capitalised = (upper[0] ?? '') + lower.slice(1);
    // Capitalised words are mostly names (unless asked); mixed case is code or a brand ("iPhone").
    if (token !== lower && token !== upper && !(repairCapitalised && token === capitalised)) return undefined;
    if (lexicon.has(lower)) return undefined;
    const fixed = spelling.correct(lower);
    return fixed === undefined ? undefined : inCaseOf(token, fixed);
  });
};

/** The worst-case texts of `text-budget.test.ts`, built from a seeded generator (same texts every run). */
import { createRng } from '../../src/core/rng.js';

/** The serving default's text cap (`validate.maxTextLength`): the longest text a request may hold. */
export const SERVE_TEXT_CAP = 10_000;

function letters(rng: ReturnType<typeof createRng>, n: number): string {
  let out = '';
  for (let i = 0; i < n; i++) out += String.fromCharCode(97 + rng.int(26));
  return out;
}

/** Named texts that each stress one dimension of the normaliser's input. */
export function worstCaseTexts(): { name: string; text: string }[] {
  const rng = createRng(20);
  const words = (length: number, total: number): string => {
    const parts: string[] = [];
    let size = 0;
    while (size + length + 1 <= total) {
      parts.push(letters(rng, length));
      size += length + 1;
    }
    return parts.join(' ');
  };
  return [
    // The reported fault: one word of 5,000 letters (the spelling stage built ~n² deletions).
    { name: 'one 5,000-letter word', text: `Claim your prize ${letters(rng, 5000)} now` },
    // Zero-width spaces between its letters make one word only once the invisible stage ran.
    { name: '2,000 letters joined by zero-width spaces', text: `free ${Array.from(letters(rng, 2000)).join('\u200B')} money` },
    // Many words just over any sane length, up to the serving cap.
    { name: 'words of 70 letters up to the text cap', text: words(70, SERVE_TEXT_CAP) },
    // Words of 30 letters: longer than any vocabulary word, each one a spelling lookup.
    { name: 'words of 30 letters up to the text cap', text: words(30, SERVE_TEXT_CAP) },
    // One token without spaces: the address search retried it from every position.
    { name: 'one 10,000-character dotted token', text: `@${'a.'.repeat(SERVE_TEXT_CAP / 2 - 1)}` },
    // Leet digits inside a long word: every reading of it was tried.
    { name: 'a 5,000-character leet word', text: `fr33 ${'m0n3y'.repeat(1000)}` },
  ];
}

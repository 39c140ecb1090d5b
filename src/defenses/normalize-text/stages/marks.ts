/**
 * `marks`: strip combining marks from Latin, Greek and Cyrillic letters ("fŕéé" -> "free", stacked
 * "Zalgo" marks); other scripts keep theirs.
 */
import type { StageFn } from './types.js';

export const marksStage: StageFn = (text) => {
  // Fast path: only text with non-ASCII characters can hold combining marks.
  if (!/[^\p{ASCII}]/u.test(text)) return { text, changes: 0 };
  let changes = 0;
  const out = text
    .normalize('NFD')
    .replace(/(^|[\p{Script=Latin}\p{Script=Greek}\p{Script=Cyrillic}\p{N}\p{P}\p{S}\s])(\p{M}+)/gu, (_, base: string, marks: string) => {
      changes += marks.length;
      return base;
    })
    .normalize('NFC');
  return { text: changes === 0 ? text : out, changes };
};

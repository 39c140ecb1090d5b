/**
 * `nfkc`: Unicode compatibility composition (full-width and mathematical letters, ligatures,
 * exotic spaces become their plain forms).
 */
import { confusableTable } from '../confusables.js';
import type { StageFn } from './types.js';

export const nfkcStage: StageFn = (text) => {
  // A few look-alikes decompose into a space or a bare mark ("ͺ" -> " ͅ"); read them as the letter they mimic first.
  const { readings } = confusableTable();
  const protectedText = /[^\p{ASCII}]/u.test(text)
    ? text.replace(/[^\p{ASCII}]/gu, (ch) => {
        const r = readings.get(ch);
        if (r === undefined) return ch;
        const compat = ch.normalize('NFKC');
        return compat === ch || r.some((reading) => reading.toLowerCase() === compat.toLowerCase()) ? ch : (r[0] as string);
      })
    : text;
  const out = protectedText.normalize('NFKC');
  return { text: out, changes: out === text ? 0 : countDiffering(text, out) };
};

function countDiffering(a: string, b: string): number {
  return Math.max(1, Math.abs(a.length - b.length) + [...a].filter((ch, i) => b[i] !== ch).length);
}

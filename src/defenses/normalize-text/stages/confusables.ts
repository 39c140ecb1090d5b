/**
 * `confusables`: map look-alike letters to ASCII (see `../confusables.ts`), choosing between "l"
 * and "i" for ambiguous look-alikes by which reading is a word.
 */
import { confusableTable } from '../confusables.js';
import type { Lexicon } from '../lexicon.js';
import { MAX_LEET_COMBOS_PER_TOKEN, overLong } from '../budget.js';
import type { StageFn } from './types.js';

const MIXED_IL = /\p{Ll}I|I\p{Ll}|\p{Lu}l|l\p{Lu}/u;

export const confusablesStage: StageFn = (text, { lexicon }) => {
  const nonAscii = /[^\p{ASCII}]/u.test(text);
  // "cIick", "CLlCK": an ASCII I inside a lower-case word (or l inside an upper-case one) may be the other letter.
  if (!nonAscii && !MIXED_IL.test(text)) return { text, changes: 0 };
  const { readings } = confusableTable();
  let changes = 0;
  const out = text.replace(/[^\s]+/g, (token) => {
    if (!/[^\p{ASCII}]/u.test(token) && !MIXED_IL.test(token)) return token;
    const chars = Array.from(token);
    const options: (readonly string[])[] = chars.map((ch) => readings.get(ch) ?? [ch]);
    const mapped = options.map((o) => o[0] as string);
    const others = mapped.filter((m) => m !== 'I' && m !== 'l');
    const lower = others.some((m) => /\p{Ll}/u.test(m));
    const upper = others.some((m) => /\p{Lu}/u.test(m));
    chars.forEach((ch, i) => {
      if (readings.has(ch)) return;
      if (ch === 'I' && lower) options[i] = ['I', 'l'];
      else if (ch === 'l' && upper && !lower) options[i] = ['l', 'I'];
    });
    const best = bestReading(options, lexicon);
    if (best !== token) changes += chars.filter((ch) => readings.has(ch)).length || 1;
    return best;
  });
  return { text: changes === 0 ? text : out, changes };
};

/**
 * The reading of a token whose characters have several possible letters (confusables,
 * I/l) that makes a word; the first readings when none does.
 */
function bestReading(options: readonly (readonly string[])[], lexicon: Lexicon): string {
  const first = options.map((o) => o[0] as string).join('');
  const ambiguous = options.map((o, i) => (o.length > 1 ? i : -1)).filter((i) => i >= 0);
  if (ambiguous.length === 0 || ambiguous.length > 6) return first;
  const core = (t: string): string => t.replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, '');
  // No reading of an over-long token is a word: trying them would only cost time.
  if (core(first) === '' || overLong(core(first)) || lexicon.has(core(first))) return first;
  let combos = 1;
  for (const p of ambiguous) combos *= (options[p] as readonly string[]).length;
  for (let c = 1; c < Math.min(combos, MAX_LEET_COMBOS_PER_TOKEN); c++) {
    const out = options.map((o) => o[0] as string);
    let rest = c;
    for (const p of ambiguous) {
      const o = options[p] as readonly string[];
      out[p] = o[rest % o.length] as string;
      rest = Math.floor(rest / o.length);
    }
    const candidate = out.join('');
    if (lexicon.has(core(candidate))) return candidate;
  }
  return first;
}

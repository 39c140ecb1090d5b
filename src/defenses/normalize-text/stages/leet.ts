/**
 * `leet`: decode digits/symbols used as letters ("fr33" -> "free", "$ale" -> "sale"), only when the
 * decoded token is a word and the original is not; number-like tokens ("100k", "10am", "1990s",
 * "$5") are never touched.
 */
import type { Lexicon } from '../lexicon.js';
import { MAX_LEET_COMBOS_PER_TOKEN, overLong } from '../budget.js';
import { NUMBER_LIKE, isOrdinal, outsideAddresses, standsAlone } from '../words.js';
import type { StageFn } from './types.js';

const LEET: Readonly<Record<string, readonly string[]>> = {
  '4': ['a'],
  '@': ['a'],
  '8': ['b'],
  '3': ['e'],
  '6': ['g', 'b'],
  '9': ['g'],
  '1': ['i', 'l'],
  '!': ['i', 'l'],
  '|': ['l', 'i'],
  '0': ['o'],
  '5': ['s'],
  $: ['s'],
  '7': ['t'],
  '+': ['t'],
  '2': ['z'],
};
const LEET_CHAR = /[0-9@$!|+]/;
// Letters, digits and the symbols leet uses; a token that mixes them may be a leet word.
const LEET_TOKEN = /[\p{L}\p{N}@$!|+]+/gu;

export const leetStage: StageFn = (text, { lexicon }) => {
  if (!LEET_CHAR.test(text)) return { text, changes: 0 };
  return outsideAddresses(text, (segment) => {
    let changes = 0;
    const out = segment.replace(LEET_TOKEN, (token) => {
      const decoded = decodeLeetToken(token, lexicon);
      if (decoded === token) return token;
      changes++;
      return decoded;
    });
    return { text: out, changes };
  });
};

// Trailing "!" is punctuation far more often than leet ("free!!!", "Yahoo!").
function splitTrailing(token: string): [string, string] {
  const m = /!+$/.exec(token);
  return m ? [token.slice(0, m.index), m[0]] : [token, ''];
}

/**
 * The token with leet characters decoded, when that yields a word and the token is not a
 * word or a number already; otherwise the token unchanged.
 */
function decodeLeetToken(token: string, lexicon: Lexicon): string {
  const [core, trailing] = splitTrailing(token);
  // An over-long token decodes to no word (see budget.ts).
  if (core.length < 3 || overLong(core) || !LEET_CHAR.test(core) || NUMBER_LIKE.test(core) || /[0-9]{3}/.test(core)) return token;
  // Ordinals ("2nd", "21st", "13th") and scientific notation ("1e6") are numbers.
  if (isOrdinal(core) || /^[0-9]+e[0-9]+$/i.test(core)) return token;
  // Mostly digits in a longer token is an identifier, not a word in disguise; short words
  // ("g37" for "get") may lose most of their letters.
  const letters = (core.match(/\p{L}/gu) ?? []).length;
  if (letters === 0 || ((core.match(/[0-9]/g) ?? []).length > letters && Array.from(core).length > 4)) return token;
  if (lexicon.has(core)) return token;
  // Trailing "+" and "$" after a word are "C++" and "US$", not leet.
  const bare = core.replace(/[+$]+$/, '');
  if (bare !== core && !/[0-9]/.test(bare) && (bare.length < 3 || lexicon.has(bare))) return token;
  // A letter or a word with a version or model number ("X11", "POP3", "RAID5", "win98"), unlike
  // a lower-case word with one leet letter at its end ("thank5", "her3").
  const versioned = /^(\p{L}+)([0-9]+)$/u.exec(core);
  if (versioned) {
    const [, stem, digits] = versioned as unknown as [string, string, string];
    if (Array.from(stem).length === 1 && stem === stem.toUpperCase()) return token;
    if (standsAlone(stem, lexicon) && (digits.length >= 2 || stem === stem.toUpperCase())) return token;
  }
  const decoded = leetWord(core, lexicon);
  return decoded === undefined ? token : decoded + trailing;
}

/** The first decoding of `core` (all combinations of letter readings) that is a word. */
function leetWord(core: string, lexicon: Lexicon): string | undefined {
  const chars = Array.from(core);
  const positions = chars.map((ch, i) => (LEET[ch] ? i : -1)).filter((i) => i >= 0);
  if (positions.length === 0) return undefined;
  const letters = chars.filter((ch) => /\p{L}/u.test(ch));
  const upper = letters.length > 1 && letters.every((ch) => ch === ch.toUpperCase() && ch !== ch.toLowerCase());
  const options = positions.map((p) => LEET[chars[p] as string] as readonly string[]);
  let combos = 1;
  for (const o of options) combos *= o.length;
  combos = Math.min(combos, MAX_LEET_COMBOS_PER_TOKEN);
  for (let c = 0; c < combos; c++) {
    const out = [...chars];
    let rest = c;
    positions.forEach((p, k) => {
      const o = options[k] as readonly string[];
      const letter = o[rest % o.length] as string;
      rest = Math.floor(rest / o.length);
      out[p] = upper ? letter.toUpperCase() : letter;
    });
    const word = out.join('');
    if (lexicon.has(word)) return word;
  }
  return undefined;
}

/**
 * Word-level helpers the normalisation stages share: where the addresses are (identifiers, never
 * rewritten), rewriting words outside them, case patterns, numbers that are not words.
 */
import { MAX_ADDRESS_LENGTH } from './budget.js';
import type { Lexicon } from './lexicon.js';
import type { StageResult } from './stages/types.js';

// Numbers with units or ordinals, years, times: never decode ("100k", "10am", "2nd", "1990s").
export const NUMBER_LIKE =
  /^(?:[0-9]+|[0-9]+(?:am|pm|k|m|b|x|s|d|g|bit|px|kb|mb|gb|tb|ms|hz|khz|mhz|ghz|mm|cm|km|kg|lb|lbs|oz|ft|in|yr|yrs|hr|hrs|min|mins|sec|secs))$/i;

// URLs, e-mail addresses and paths are identifiers, not words: "pop3.example.com/x1" must survive.
const ADDRESS =
  /(?:[a-z][a-z0-9+.-]*:\/\/|www\.)\S+|[^\s@]+@[^\s@]+\.[^\s@]+|\S*[/\\]\S*|\S+\.(?:com|net|org|edu|gov|html?|php|asp|txt|rpm|exe|zip|gz|tar|pdf|doc|jpg|gif|png)\b/gi;
// Every address holds one of these (the "://" of a URL, "www.", "@", a slash, a ".com").
const ADDRESS_CHAR = /[/\\@.:]/;

/**
 * The addresses in `text`, as `ADDRESS` finds them, searched token by token: no address spans
 * whitespace, so the matches are the same, but the search (quadratic in a token's length for
 * some tokens) runs only on tokens of at most MAX_ADDRESS_LENGTH characters that hold an
 * address character. A longer token is not an address and is read as words.
 */
function* addresses(text: string): Generator<{ index: number; text: string }> {
  for (const token of text.matchAll(/\S+/g)) {
    const word = token[0];
    if (word.length > MAX_ADDRESS_LENGTH || !ADDRESS_CHAR.test(word)) continue;
    for (const m of word.matchAll(ADDRESS)) yield { index: token.index + m.index, text: m[0] };
  }
}

/** Each token matching `pattern` outside addresses, replaced by `repair` when it returns a word; counts the replacements. */
export function rewriteWords(text: string, pattern: RegExp, repair: (token: string) => string | undefined): StageResult {
  return outsideAddresses(text, (segment) => {
    let changes = 0;
    const out = segment.replace(pattern, (token) => {
      const fixed = repair(token);
      if (fixed === undefined) return token;
      changes++;
      return fixed;
    });
    return { text: out, changes };
  });
}

export function outsideAddresses(text: string, fn: (segment: string) => StageResult): StageResult {
  let changes = 0;
  let out = '';
  let last = 0;
  for (const m of addresses(text)) {
    const r = fn(text.slice(last, m.index));
    out += r.text + m.text;
    changes += r.changes;
    last = m.index + m.text.length;
  }
  const r = fn(text.slice(last));
  changes += r.changes;
  return { text: changes === 0 ? text : out + r.text, changes };
}

/** The text with URLs, e-mail addresses and paths blanked out: they are identifiers, not words. */
export function outsideAddressesText(text: string): string {
  let out = '';
  let last = 0;
  for (const m of addresses(text)) {
    out += `${text.slice(last, m.index)} `;
    last = m.index + m.text.length;
  }
  return last === 0 ? text : out + text.slice(last);
}

/**
 * `replacement` (lower case) written in the case pattern of `word`: lower, UPPER or
 * Capitalised; any other (mixed) pattern gives it in lower case.
 */
export function inCaseOf(word: string, replacement: string): string {
  const lower = word.toLowerCase();
  if (word === lower) return replacement;
  if (word === word.toUpperCase()) return replacement.toUpperCase();
  if (word === (lower[0] ?? '').toUpperCase() + lower.slice(1)) return (replacement[0] ?? '').toUpperCase() + replacement.slice(1);
  return replacement;
}

export function isOrdinal(token: string): boolean {
  const m = /^([0-9]*)(st|nd|rd|th)$/i.exec(token);
  if (!m || m[1] === '') return false;
  const digits = m[1] as string;
  const last = Number(digits[digits.length - 1]);
  const teen = digits.length >= 2 && digits[digits.length - 2] === '1';
  const suffix = (m[2] as string).toLowerCase();
  return teen || last > 3 || last === 0 ? suffix === 'th' : suffix === ['st', 'nd', 'rd'][last - 1];
}

// A piece a reader would take as a word by itself: a function word, or a known word of 3+ letters.
export function standsAlone(fragment: string, lexicon: Lexicon): boolean {
  if (/^[0-9]+$/.test(fragment)) return true;
  if (lexicon.isFunctionWord(fragment)) return true;
  return Array.from(fragment).length >= 3 && lexicon.isCommon(fragment);
}

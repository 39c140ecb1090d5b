/**
 * Input normalisation for text filters: undo the cheap obfuscations attackers use to slip
 * spam and abuse past a model, before the model sees the text. Each stage is named and
 * counts what it changed, so a report can say which defences fired on which input.
 *
 * Stages, in order (each can be switched off):
 * - `invisible`: remove default-ignorable code points (zero-width space/joiners U+200B-200F,
 *   word joiner and invisible operators U+2060-2064, BOM U+FEFF, soft hyphen, variation
 *   selectors, tag characters, bidi controls, Hangul fillers...).
 * - `nfkc`: Unicode compatibility composition (full-width and mathematical letters,
 *   ligatures, exotic spaces become their plain forms).
 * - `marks`: strip combining marks from Latin, Greek and Cyrillic letters ("fŕéé" -> "free",
 *   stacked "Zalgo" marks); other scripts keep theirs.
 * - `confusables`: map look-alike letters to ASCII (see `confusables.ts`), choosing between
 *   "l" and "i" for ambiguous look-alikes by which reading is a word.
 * - `leet`: decode digits/symbols used as letters ("fr33" -> "free", "$ale" -> "sale"), only
 *   when the decoded token is a word and the original is not; number-like tokens
 *   ("100k", "10am", "1990s", "$5") are never touched.
 * - `split`: rejoin words split by one space or punctuation mark ("fr ee", "c.l.i.c.k")
 *   when the joined form is a word and the pieces are not all words of their own.
 * - `unscramble`: replace an unknown word of 4+ letters (any case) spelled with exactly the
 *   letters of a vocabulary word, within two adjacent swaps ("natrue", "Fniance"), by that
 *   word (the most frequent, if several). Swapping letters is the cheapest edit an attacker
 *   has, and the repair depends only on the letters, so he cannot steer it the way a
 *   nearest-word repair can be steered.
 * - `spelling`: replace an unknown lower- or upper-case word of 4+ letters by the most
 *   frequent known word within one edit (two from 6 letters): typos, swapped and dropped
 *   letters (see `spelling.ts`). Capitalised words are left alone (names) unless
 *   `repairCapitalised` is set.
 * - `whitespace`: collapse runs of spaces and tabs, trim.
 *
 * With `markObfuscation`, the repairs themselves become words the model can weigh: each
 * change of an obfuscation stage appends a marker word (`zzobfleet`, `zzobfspelling`...) and
 * each lower-case word of 4+ letters still unknown after repair appends `zzobfunknown`.
 * Repairing an obfuscated word takes away the attacker's gain; the marker makes the attempt
 * cost him, since legitimate mail seldom disguises its words. With `unknownWords: 'mask'`
 * or `'drop'`, words still unknown after the repairs become one fixed token or vanish. A model trained on text
 * normalised this way (and augmented with perturbed spam) learns what the markers mean.
 */
import { UsageError, listChoices } from '../../core/errors.js';
import { confusableTable } from './confusables.js';
import { defaultTextLexicon, type Lexicon } from './lexicon.js';
import { defaultSpellingCorrector, type SpellingCorrector } from './spelling.js';
import type { SynonymEncoder } from './synonyms.js';

export const NORMALIZE_STAGES = ['invisible', 'nfkc', 'marks', 'confusables', 'leet', 'split', 'unscramble', 'spelling', 'whitespace'] as const;
export type NormalizeStage = (typeof NORMALIZE_STAGES)[number];

export interface NormalizeTextOptions {
  /** Stages to run (in the pipeline's fixed order); default all. */
  readonly stages?: readonly NormalizeStage[];
  /** Word list for the leet and split stages; default WordNet + function words. */
  readonly lexicon?: Lexicon;
  /** Vocabulary of the unscramble and spelling stages; default WordNet's familiar words. */
  readonly spelling?: SpellingCorrector;
  /** Append a marker word per repair and per unknown word left (see above); default false. */
  readonly markObfuscation?: boolean;
  /**
   * Replace each word by its synonym cluster's code word (see `synonyms.ts`), after the
   * repairs; default none. Case is kept for lower-case, Capitalised and UPPER words (mixed
   * case becomes lower case).
   */
  readonly synonyms?: SynonymEncoder;
  /**
   * Let the spelling stage repair Capitalised words too (keeping the capital); default
   * false, since most unknown capitalised words are names. An attacker edits "Guaranteed"
   * as readily as "guaranteed", and a filter that skips capitals leaves him every
   * sentence-initial word and heading.
   */
  readonly repairCapitalised?: boolean;
  /**
   * What becomes of a word of 3+ letters that is still not a familiar word after the
   * repairs (any case, outside addresses; familiar: WordNet's sense-tagged lemmas, function
   * words and the lexicon's extra words, with inflections): `keep` it (default), `mask` it
   * as the token `zzunknown`, or `drop` it. Pruthi et al. 2019 back off unrecognised words
   * to a neutral word for the same reason: an edit the repairs cannot undo then reads the
   * same whatever letters the attacker chose, so he can take a word's evidence away but
   * cannot pick edits whose new character n-grams happen to read as ham (the way such
   * edits beat an n-gram model), nor land on a rare dictionary word.
   */
  readonly unknownWords?: 'keep' | 'mask' | 'drop';
  /**
   * Shortest word `unknownWords` judges, in characters; default 3. With 1, fragments an edit cut
   * a word down to ("your" -> "yu", "best" -> "et") are judged too: the ones that are not
   * familiar short words ("on", "me", "re", WordNet's letters) are masked or dropped and
   * marked, so cutting a word short costs the attacker a marker like any other unrepaired edit.
   */
  readonly unknownWordMinLength?: number;
}

/**
 * The start of every marker word `markObfuscation` appends (`zzobfleet`, `zzobfunknown`...);
 * a featurizer given it as `markerPrefix` reads how much of a text was disguised.
 */
export const OBFUSCATION_MARKER_PREFIX = 'zzobf';

/** The stand-in for a word the lexicon does not know, with `unknownWords: 'mask'`. */
export const UNKNOWN_WORD_TOKEN = 'zzunknown';

/** Stages whose changes undo an obfuscation (and are marked with `markObfuscation`). */
const OBFUSCATION_STAGES: readonly NormalizeStage[] = ['invisible', 'nfkc', 'marks', 'confusables', 'leet', 'split', 'unscramble', 'spelling'];
/** Markers per stage and line at most: the features count them sublinearly anyway. */
const MAX_MARKERS = 50;

export interface StageReport {
  readonly stage: NormalizeStage;
  /** Characters removed or mapped, or tokens decoded or joined, by this stage. */
  readonly changes: number;
}

export interface NormalizeReport {
  readonly text: string;
  /** Every stage that ran, with its change count, in pipeline order. */
  readonly stages: readonly StageReport[];
  /** The stages that changed something. */
  readonly fired: readonly NormalizeStage[];
}

const LEET: Readonly<Record<string, readonly string[]>> = {
  '4': ['a'], '@': ['a'], '8': ['b'], '3': ['e'], '6': ['g', 'b'], '9': ['g'], '1': ['i', 'l'], '!': ['i', 'l'],
  '|': ['l', 'i'], '0': ['o'], '5': ['s'], '$': ['s'], '7': ['t'], '+': ['t'], '2': ['z'],
};
const LEET_CHAR = /[0-9@$!|+]/;
// Letters, digits and the symbols leet uses; a token that mixes them may be a leet word.
const LEET_TOKEN = /[\p{L}\p{N}@$!|+]+/gu;
// Numbers with units or ordinals, years, times: never decode ("100k", "10am", "2nd", "1990s").
const NUMBER_LIKE = /^(?:[0-9]+|[0-9]+(?:am|pm|k|m|b|x|s|d|g|bit|px|kb|mb|gb|tb|ms|hz|khz|mhz|ghz|mm|cm|km|kg|lb|lbs|oz|ft|in|yr|yrs|hr|hrs|min|mins|sec|secs))$/i;
const MAX_LEET_COMBOS = 256;
const MIXED_IL = /\p{Ll}I|I\p{Ll}|\p{Lu}l|l\p{Lu}/u;
// Fragments and the single separators that split them; the separator must sit between two fragments.
const SPLIT_TOKEN = /([\p{L}\p{N}@$!|+][\p{L}\p{N}@$!|+']*)|([ .\-_*·,])|([^\p{L}\p{N}@$!|+ .\-_*·,]+)/gu;
// Prefixes written with a hyphen in ordinary English ("e-mail", "co-operation", "pre-war"):
// before a hyphen they stand as words, so hyphenated compounds are left as written.
const HYPHEN_PREFIXES = new Set(['e', 'x', 't', 'co', 'trans', 'pre', 're', 'non', 'anti', 'multi', 'self', 'ex', 'post', 'semi', 'sub', 'inter', 'mid', 'pro', 'de', 'un', 'bi', 'tri', 'mini', 'micro', 'auto', 'cyber', 'ultra', 'mega', 'super']);
const MAX_SPLIT_PIECES = 5;
// Letter-spaced words ("O R D E R") may be longer.
const MAX_LETTER_PIECES = 16;

/**
 * Normalises `text` through the pipeline and returns the result.
 *
 * @throws UsageError `E_NORMALIZE_STAGE` for an unknown stage name, `E_NORMALIZE_OPTION` for an
 *   `unknownWordMinLength` that is not a whole number >= 1.
 * @throws DataError `E_LEXICON_MISSING` when the word list cannot be loaded.
 * @example
 * normalizeText('Fr\u200Bee m\u043Eney, cl1ck h e r e'); // 'Free money, click here'
 */
export function normalizeText(text: string, options: NormalizeTextOptions = {}): string {
  return normalizeTextWithReport(text, options).text;
}

/**
 * {@link normalizeText} that also reports what each stage changed.
 *
 * @throws See {@link normalizeText}.
 * @example
 * normalizeTextWithReport('fr33').fired; // ['leet']
 */
export function normalizeTextWithReport(text: string, options: NormalizeTextOptions = {}): NormalizeReport {
  const wanted = options.stages ?? NORMALIZE_STAGES;
  for (const s of wanted) {
    if (!(NORMALIZE_STAGES as readonly string[]).includes(s)) {
      throw new UsageError('E_NORMALIZE_STAGE', `normalizeText: unknown stage '${String(s)}'; use ${listChoices(NORMALIZE_STAGES)}.`, {
        details: { stage: s, choices: NORMALIZE_STAGES },
      });
    }
  }
  const minLength = options.unknownWordMinLength ?? 3;
  if (!Number.isInteger(minLength) || minLength < 1) {
    throw new UsageError('E_NORMALIZE_OPTION', `normalizeText: unknownWordMinLength must be a whole number of characters >= 1, got ${String(minLength)}.`, {
      details: { unknownWordMinLength: minLength },
    });
  }
  const lexicon = options.lexicon ?? defaultTextLexicon();
  const context: StageContext = {
    lexicon,
    spelling: wanted.includes('spelling') || wanted.includes('unscramble') ? (options.spelling ?? defaultSpellingCorrector()) : undefined,
    repairCapitalised: options.repairCapitalised === true,
  };
  const stages: StageReport[] = [];
  let current = text;
  for (const stage of NORMALIZE_STAGES) {
    if (!wanted.includes(stage)) continue;
    const { text: next, changes } = STAGE_FUNCTIONS[stage](current, context);
    stages.push({ stage, changes });
    current = next;
  }
  let masked: number | undefined;
  if (options.unknownWords === 'mask' || options.unknownWords === 'drop') {
    const result = maskUnknownWords(current, lexicon, options.unknownWords === 'mask' ? UNKNOWN_WORD_TOKEN : '', minLength);
    // A word dropped at either end of a line leaves its separator behind (the whitespace stage trimmed before).
    current = options.unknownWords === 'drop' && result.changes > 0 ? result.text.replace(/^[^\S\n]+|[^\S\n]+$/gm, '') : result.text;
    masked = result.changes;
  }
  if (options.synonyms) current = encodeSynonyms(current, options.synonyms);
  if (options.markObfuscation) current = withMarkers(current, stages, lexicon, masked);
  return { text: current, stages, fired: stages.filter((s) => s.changes > 0).map((s) => s.stage) };
}

function maskUnknownWords(text: string, lexicon: Lexicon, replacement: string, minLength: number): { text: string; changes: number } {
  return outsideAddresses(text, (segment) => {
    let changes = 0;
    const out = segment.replace(/[\p{L}\p{N}]+(?:['’][\p{L}\p{N}]+)*/gu, (token) => {
      // Numbers with units and ordinals ("10am", "2nd") and codes with one letter ("x86",
      // "i386") are not words: all-letter tokens are judged, and tokens mixing two or more
      // letters with digits ("Selp8ng", "u5te5ly", "transfw5"), which is how a typo on the
      // number row looks once the leet and spelling stages gave up; the corpus's own codes
      // ("pop3", "mp3") are familiar through the lexicon's extra words.
      const letters = /^\p{L}+(?:['’]\p{L}+)*$/u.test(token);
      const typed = /[0-9]/.test(token) && (token.match(/\p{L}/gu) ?? []).length >= 2 && !NUMBER_LIKE.test(token) && !isOrdinal(token);
      if (!(letters || typed) || Array.from(token).length < minLength || lexicon.isCommon(token)) return token;
      changes++;
      return replacement;
    });
    // A dropped word leaves its two separators side by side.
    return { text: replacement === '' && changes > 0 ? out.replace(/[^\S\n]{2,}/g, ' ') : out, changes };
  });
}

function encodeSynonyms(text: string, encoder: SynonymEncoder): string {
  return rewriteWords(text, /\p{L}+/gu, (word) => {
    const lower = word.toLowerCase();
    const code = encoder.encode(lower);
    // Mixed case ("pReSsInG") has no pattern to keep; the features ignore case anyway, so
    // leaving the word as written would let a case flip undo the encoding.
    return code === lower ? undefined : inCaseOf(word, code);
  }).text;
}

/**
 * `replacement` (lower case) written in the case pattern of `word`: lower, UPPER or
 * Capitalised; any other (mixed) pattern gives it in lower case.
 */
function inCaseOf(word: string, replacement: string): string {
  const lower = word.toLowerCase();
  if (word === lower) return replacement;
  if (word === word.toUpperCase()) return replacement.toUpperCase();
  if (word === (lower[0] ?? '').toUpperCase() + lower.slice(1)) return (replacement[0] ?? '').toUpperCase() + replacement.slice(1);
  return replacement;
}

/**
 * `masked`: the words `unknownWords` masked or dropped, each marked as unknown (a dropped
 * word is gone from the text, and an attacker must not get a word's evidence removed for
 * free); without masking, the lower-case words of 4+ letters the lexicon does not know.
 */
function withMarkers(text: string, stages: readonly StageReport[], lexicon: Lexicon, masked?: number): string {
  const markers: string[] = [];
  for (const { stage, changes } of stages) {
    if (OBFUSCATION_STAGES.includes(stage)) for (let k = 0; k < Math.min(changes, MAX_MARKERS); k++) markers.push(`${OBFUSCATION_MARKER_PREFIX}${stage}`);
  }
  let unknown = masked === undefined ? 0 : Math.min(masked, MAX_MARKERS);
  if (masked === undefined) {
    for (const m of outsideAddressesText(text).matchAll(/[\p{L}\p{N}]+/gu)) {
      if (unknown < MAX_MARKERS && /^\p{Ll}{4,}$/u.test(m[0]) && !lexicon.has(m[0])) unknown++;
    }
  }
  for (let k = 0; k < unknown; k++) markers.push(`${OBFUSCATION_MARKER_PREFIX}unknown`);
  return markers.length === 0 ? text : `${text} ${markers.join(' ')}`;
}

/** The text with URLs, e-mail addresses and paths blanked out: they are identifiers, not words. */
function outsideAddressesText(text: string): string {
  return text.replace(ADDRESS, ' ');
}

const LINE_CACHE_LIMIT = 100_000;

/**
 * A normaliser with fixed options that works line by line and remembers lines it has seen.
 * The result equals {@link normalizeText}: no stage looks across a line break. Attacks
 * query many copies of one message that differ in a word or two, so most lines repeat.
 *
 * @throws See {@link normalizeText} (when first called with a bad stage name).
 * @example
 * const normalize = createTextNormalizer();
 * normalize('fr33 m0ney\nclick h e r e');
 */
export function createTextNormalizer(options: NormalizeTextOptions = {}): (text: string) => string {
  const cache = new Map<string, string>();
  const lineOptions: NormalizeTextOptions = { ...options, stages: (options.stages ?? NORMALIZE_STAGES) };
  return (text) => {
    const lines = text.split('\n').map((line) => {
      let out = cache.get(line);
      if (out === undefined) {
        out = normalizeTextWithReport(line, lineOptions).text;
        if (cache.size >= LINE_CACHE_LIMIT) cache.clear();
        cache.set(line, out);
      }
      return out;
    });
    const joined = lines.join('\n');
    return lineOptions.stages?.includes('whitespace') ? joined.replace(/\n{3,}/g, '\n\n').trim() : joined;
  };
}

interface StageContext {
  readonly lexicon: Lexicon;
  readonly spelling: SpellingCorrector | undefined;
  readonly repairCapitalised: boolean;
}

type StageFn = (text: string, context: StageContext) => { text: string; changes: number };

const STAGE_FUNCTIONS: Record<NormalizeStage, StageFn> = {
  invisible: (text) => {
    let changes = 0;
    const out = text.replace(/\p{Default_Ignorable_Code_Point}/gu, () => {
      changes++;
      return '';
    });
    return { text: out, changes };
  },
  nfkc: (text) => {
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
  },
  marks: (text) => {
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
  },
  confusables: (text, { lexicon }) => {
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
  },
  leet: (text, { lexicon }) => {
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
  },
  split: (text, { lexicon }) => outsideAddresses(text, (segment) => repairSplits(segment, lexicon)),
  unscramble: (text, { lexicon, spelling }) => {
    if (spelling === undefined) return { text, changes: 0 };
    return rewriteWords(text, /\p{L}+/gu, (token) => {
      if (Array.from(token).length < 4) return undefined;
      const lower = token.toLowerCase();
      if (lexicon.has(lower)) return undefined;
      const fixed = spelling.unscramble(lower);
      return fixed === undefined ? undefined : inCaseOf(token, fixed);
    });
  },
  spelling: (text, { lexicon, spelling, repairCapitalised }) => {
    if (spelling === undefined) return { text, changes: 0 };
    return rewriteWords(text, /[\p{L}\p{N}@$!|+'’]+/gu, (token) => {
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
  },
  whitespace: (text) => {
    const out = text.replace(/[^\S\n]+/g, ' ').replace(/ ?\n ?/g, '\n').replace(/\n{3,}/g, '\n\n').trim();
    return { text: out, changes: out === text ? 0 : Math.max(1, Math.abs(text.length - out.length)) };
  },
};

// URLs, e-mail addresses and paths are identifiers, not words: "pop3.example.com/x1" must survive.
const ADDRESS = /(?:[a-z][a-z0-9+.-]*:\/\/|www\.)\S+|[^\s@]+@[^\s@]+\.[^\s@]+|\S*[/\\]\S*|\S+\.(?:com|net|org|edu|gov|html?|php|asp|txt|rpm|exe|zip|gz|tar|pdf|doc|jpg|gif|png)\b/gi;

/** Each token matching `pattern` outside addresses, replaced by `repair` when it returns a word; counts the replacements. */
function rewriteWords(text: string, pattern: RegExp, repair: (token: string) => string | undefined): { text: string; changes: number } {
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

function outsideAddresses(text: string, fn: (segment: string) => { text: string; changes: number }): { text: string; changes: number } {
  let changes = 0;
  let out = '';
  let last = 0;
  for (const m of text.matchAll(ADDRESS)) {
    const r = fn(text.slice(last, m.index));
    out += r.text + m[0];
    changes += r.changes;
    last = m.index + m[0].length;
  }
  const r = fn(text.slice(last));
  changes += r.changes;
  return { text: changes === 0 ? text : out + r.text, changes };
}

function countDiffering(a: string, b: string): number {
  return Math.max(1, Math.abs(a.length - b.length) + [...a].filter((ch, i) => b[i] !== ch).length);
}

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
  if (core.length < 3 || !LEET_CHAR.test(core) || NUMBER_LIKE.test(core) || /[0-9]{3}/.test(core)) return token;
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

function isOrdinal(token: string): boolean {
  const m = /^([0-9]*)(st|nd|rd|th)$/i.exec(token);
  if (!m || m[1] === '') return false;
  const digits = m[1] as string;
  const last = Number(digits[digits.length - 1]);
  const teen = digits.length >= 2 && digits[digits.length - 2] === '1';
  const suffix = (m[2] as string).toLowerCase();
  return teen || last > 3 || last === 0 ? suffix === 'th' : suffix === ['st', 'nd', 'rd'][last - 1];
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
  combos = Math.min(combos, MAX_LEET_COMBOS);
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

/**
 * The reading of a token whose characters have several possible letters (confusables,
 * I/l) that makes a word; the first readings when none does.
 */
function bestReading(options: readonly (readonly string[])[], lexicon: Lexicon): string {
  const first = options.map((o) => o[0] as string).join('');
  const ambiguous = options.map((o, i) => (o.length > 1 ? i : -1)).filter((i) => i >= 0);
  if (ambiguous.length === 0 || ambiguous.length > 6) return first;
  const core = (t: string): string => t.replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, '');
  if (core(first) === '' || lexicon.has(core(first))) return first;
  let combos = 1;
  for (const p of ambiguous) combos *= (options[p] as readonly string[]).length;
  for (let c = 1; c < Math.min(combos, MAX_LEET_COMBOS); c++) {
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

interface Piece {
  text: string;
  kind: 'fragment' | 'separator' | 'other';
}

/**
 * Rejoins runs of 2..5 fragments separated by single split marks when the joined text
 * (leet-decoded if needed) is a word, and not every piece already stands as a word of its
 * own ("a way" stays, "fr ee" joins). The longest run that forms a word wins.
 */
function repairSplits(text: string, lexicon: Lexicon): { text: string; changes: number } {
  const pieces: Piece[] = [];
  for (const m of text.matchAll(SPLIT_TOKEN)) {
    pieces.push({ text: m[0], kind: m[1] !== undefined ? 'fragment' : m[2] !== undefined ? 'separator' : 'other' });
  }
  let changes = 0;
  const out: string[] = [];
  let i = 0;
  while (i < pieces.length) {
    const piece = pieces[i] as Piece;
    if (piece.kind !== 'fragment') {
      out.push(piece.text);
      i++;
      continue;
    }
    const found = longestJoin(pieces, i, lexicon);
    if (found === undefined) {
      out.push(piece.text);
      i++;
      continue;
    }
    out.push(found.word);
    changes++;
    i = found.end + 1;
  }
  return { text: changes === 0 ? text : out.join(''), changes };
}

/** The longest run of fragments starting at piece `i` that joins into a word, if any. */
function longestJoin(pieces: readonly Piece[], i: number, lexicon: Lexicon): { end: number; word: string } | undefined {
  if (pieces[i]?.kind !== 'fragment') return undefined;
  // Fragments at i, i+2, i+4...; separators between them must be single marks.
  let maxEnd = i;
  while (
    (maxEnd - i) / 2 + 1 < MAX_LETTER_PIECES &&
    pieces[maxEnd + 1]?.kind === 'separator' &&
    pieces[maxEnd + 2]?.kind === 'fragment'
  ) {
    maxEnd += 2;
  }
  const single = (k: number): boolean => pieces[k]?.kind === 'fragment' && Array.from((pieces[k] as Piece).text).length === 1;
  // A run touching another fragment through a different kind of separator ("mass e-mail") is ambiguous.
  const attached = (sepAt: number, fragAt: number, spaced: boolean): boolean =>
    pieces[sepAt]?.kind === 'separator' && pieces[fragAt]?.kind === 'fragment' && ((pieces[sepAt] as Piece).text === ' ') !== spaced;
  for (let end = maxEnd; end > i; end -= 2) {
    const fragments: string[] = [];
    const separators: string[] = [];
    for (let k = i; k <= end; k += 2) fragments.push((pieces[k] as Piece).text);
    for (let k = i + 1; k < end; k += 2) separators.push((pieces[k] as Piece).text);
    // A split word is split one way: by spaces, or by punctuation ("mass e-mail" is two words).
    const spaced = separators[0] === ' ';
    if (separators.some((sep) => (sep === ' ') !== spaced)) continue;
    if (spaced && (attached(i - 1, i - 2, spaced) || attached(end + 1, end + 2, spaced))) continue;
    const letters = fragments.every((f) => Array.from(f).length === 1);
    if (!letters && fragments.length > MAX_SPLIT_PIECES) continue;
    // Letter-spaced words join whole or not at all ("V E R S I O N", not "V ERS I O N").
    const sameKind = (sepAt: number): boolean => pieces[sepAt]?.kind === 'separator' && ((pieces[sepAt] as Piece).text === ' ') === spaced;
    if (letters && ((single(i - 2) && sameKind(i - 1)) || (single(end + 2) && sameKind(end + 1)))) continue;
    // Digits and leet symbols belong to numbers, versions and code ("OS 10.2", "$1 per"), not to
    // split words; apostrophes to contractions ("I don't").
    if (fragments.some((f) => /[0-9@$!|+'’]/.test(f))) continue;
    // "to w-i-n", "ran a", "for f in": a function word next to a space is usually a word of its own;
    // only a long join without stray letters ("of fer", "via gra") is taken as a split word.
    if (spaced && fragments.some((f) => lexicon.isFunctionWord(f))) {
      const length = Array.from(fragments.join('')).length;
      if (length < 5 || (length < 6 && fragments.some((f) => Array.from(f).length === 1))) continue;
    }
    // Most runs in ordinary text are all words; skip them before building joins.
    if (fragments.every((f, k) => standsAlone(f, lexicon) || (separators[k] === '-' && HYPHEN_PREFIXES.has(f.toLowerCase())))) continue;
    // Runs of single letters split by dots are abbreviations ("U.S.", "e.g.") unless long ("c.l.i.c.k").
    if (fragments.every((f) => Array.from(f).length === 1) && (fragments.length < 3 || (fragments.length === 3 && separators.includes('.')))) continue;
    const word = joinedWordOf(fragments, lexicon, spaced);
    if (word !== undefined) return { end, word };
  }
  return undefined;
}

/**
 * The joined fragments when they form a word in a split word's case pattern. Joins across
 * spaces, the riskiest, must form a familiar word ("mixer applet on" is not "appleton").
 */
function joinedWordOf(fragments: string[], lexicon: Lexicon, spaced: boolean): string | undefined {
  const joined = fragments.join('');
  if (!/\p{L}/u.test(joined) || Array.from(joined).length < 3) return undefined;
  // Splitting keeps the word's case pattern; "Joseph S." or "Wi-Fi" would join into "JosephS", "WiFi".
  const lower = joined.toLowerCase();
  const upper = joined.toUpperCase();
  const capitalised = (upper[0] ?? '') + lower.slice(1);
  if (joined !== lower && joined !== upper && joined !== capitalised) return undefined;
  return (spaced ? lexicon.isCommon(joined) : lexicon.has(joined)) ? joined : undefined;
}

// A piece a reader would take as a word by itself: a function word, or a known word of 3+ letters.
function standsAlone(fragment: string, lexicon: Lexicon): boolean {
  if (/^[0-9]+$/.test(fragment)) return true;
  if (lexicon.isFunctionWord(fragment)) return true;
  return Array.from(fragment).length >= 3 && lexicon.isCommon(fragment);
}

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
 *
 * Every input dimension has a budget (`budget.ts`): texts over 100,000 characters are refused,
 * words over 64 characters are cut before any stage (marked `zzobflong`), and each stage's work
 * per word is bounded.
 */
import { UsageError, listChoices } from '../../core/errors.js';
import { LINE_CACHE_CHARS, checkTextLength, cutLongWords } from './budget.js';
import { defaultTextLexicon, type Lexicon } from './lexicon.js';
import { defaultSpellingCorrector, type SpellingCorrector } from './spelling.js';
import type { SynonymEncoder } from './synonyms.js';
import { NUMBER_LIKE, inCaseOf, isOrdinal, outsideAddresses, outsideAddressesText, rewriteWords } from './words.js';
import type { StageContext, StageFn } from './stages/types.js';
import { invisibleStage } from './stages/invisible.js';
import { nfkcStage } from './stages/nfkc.js';
import { marksStage } from './stages/marks.js';
import { confusablesStage } from './stages/confusables.js';
import { leetStage } from './stages/leet.js';
import { splitStage } from './stages/split.js';
import { unscrambleStage } from './stages/unscramble.js';
import { spellingStage } from './stages/spelling.js';
import { whitespaceStage } from './stages/whitespace.js';

export const NORMALIZE_STAGES = [
  'invisible',
  'nfkc',
  'marks',
  'confusables',
  'leet',
  'split',
  'unscramble',
  'spelling',
  'whitespace',
] as const;
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
const OBFUSCATION_STAGES: readonly NormalizeStage[] = NORMALIZE_STAGES.filter((stage) => stage !== 'whitespace');
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
  /** Words over MAX_WORD_LENGTH characters cut to it before the stages (see `budget.ts`). */
  readonly longWordsCut: number;
}

/**
 * Normalises `text` through the pipeline and returns the result.
 *
 * @throws UsageError `E_NORMALIZE_STAGE` for an unknown stage name, `E_NORMALIZE_OPTION` for an
 *   `unknownWordMinLength` that is not a whole number >= 1.
 * @throws InputError `E_TEXT_TOO_LONG` for a text over MAX_NORMALIZE_TEXT_LENGTH (100,000) characters.
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
    throw new UsageError(
      'E_NORMALIZE_OPTION',
      `normalizeText: unknownWordMinLength must be a whole number of characters >= 1, got ${String(minLength)}.`,
      {
        details: { unknownWordMinLength: minLength },
      },
    );
  }
  const lexicon = options.lexicon ?? defaultTextLexicon();
  const context: StageContext = {
    lexicon,
    spelling: wanted.includes('spelling') || wanted.includes('unscramble') ? (options.spelling ?? defaultSpellingCorrector()) : undefined,
    repairCapitalised: options.repairCapitalised === true,
  };
  checkTextLength(text);
  // Before any stage: no stage then sees a word longer than MAX_WORD_LENGTH (budget.ts).
  const cut = outsideAddresses(text, cutLongWords);
  const stages: StageReport[] = [];
  let current = cut.text;
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
  if (options.markObfuscation) current = withMarkers(current, stages, lexicon, masked, cut.changes);
  return { text: current, stages, fired: stages.filter((s) => s.changes > 0).map((s) => s.stage), longWordsCut: cut.changes };
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
 * `masked`: the words `unknownWords` masked or dropped, each marked as unknown (a dropped
 * word is gone from the text, and an attacker must not get a word's evidence removed for
 * free); without masking, the lower-case words of 4+ letters the lexicon does not know.
 * `longWords`: words cut to MAX_WORD_LENGTH, each marked `zzobflong`.
 */
function withMarkers(
  text: string,
  stages: readonly StageReport[],
  lexicon: Lexicon,
  masked: number | undefined,
  longWords: number,
): string {
  const markers: string[] = [];
  for (const { stage, changes } of stages) {
    if (OBFUSCATION_STAGES.includes(stage))
      for (let k = 0; k < Math.min(changes, MAX_MARKERS); k++) markers.push(`${OBFUSCATION_MARKER_PREFIX}${stage}`);
  }
  for (let k = 0; k < Math.min(longWords, MAX_MARKERS); k++) markers.push(`${OBFUSCATION_MARKER_PREFIX}long`);
  let unknown = masked === undefined ? 0 : Math.min(masked, MAX_MARKERS);
  if (masked === undefined) {
    for (const m of outsideAddressesText(text).matchAll(/[\p{L}\p{N}]+/gu)) {
      if (unknown < MAX_MARKERS && /^\p{Ll}{4,}$/u.test(m[0]) && !lexicon.has(m[0])) unknown++;
    }
  }
  for (let k = 0; k < unknown; k++) markers.push(`${OBFUSCATION_MARKER_PREFIX}unknown`);
  return markers.length === 0 ? text : `${text} ${markers.join(' ')}`;
}

const LINE_CACHE_LIMIT = 100_000;

/**
 * A normaliser with fixed options that works line by line and remembers lines it has seen.
 * The result equals {@link normalizeText}: no stage looks across a line break. Attacks
 * query many copies of one message that differ in a word or two, so most lines repeat.
 *
 * @throws See {@link normalizeText} (a bad stage name when first called; `E_TEXT_TOO_LONG` for each text over the limit).
 * @example
 * const normalize = createTextNormalizer();
 * normalize('fr33 m0ney\nclick h e r e');
 */
export function createTextNormalizer(options: NormalizeTextOptions = {}): (text: string) => string {
  const cache = new Map<string, string>();
  // The cache is bounded in entries and in characters, so distinct long lines cannot grow it without limit.
  let cachedChars = 0;
  const lineOptions: NormalizeTextOptions = { ...options, stages: options.stages ?? NORMALIZE_STAGES };
  return (text) => {
    checkTextLength(text);
    const lines = text.split('\n').map((line) => {
      let out = cache.get(line);
      if (out === undefined) {
        out = normalizeTextWithReport(line, lineOptions).text;
        if (cache.size >= LINE_CACHE_LIMIT || cachedChars + line.length + out.length > LINE_CACHE_CHARS) {
          cache.clear();
          cachedChars = 0;
        }
        cache.set(line, out);
        cachedChars += line.length + out.length;
      }
      return out;
    });
    const joined = lines.join('\n');
    return lineOptions.stages?.includes('whitespace') ? joined.replace(/\n{3,}/g, '\n\n').trim() : joined;
  };
}

/** The stages in pipeline order, one file each under `stages/`. */
const STAGE_FUNCTIONS: Record<NormalizeStage, StageFn> = {
  invisible: invisibleStage,
  nfkc: nfkcStage,
  marks: marksStage,
  confusables: confusablesStage,
  leet: leetStage,
  split: splitStage,
  unscramble: unscrambleStage,
  spelling: spellingStage,
  whitespace: whitespaceStage,
};

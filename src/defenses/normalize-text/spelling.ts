/**
 * Spelling repair against character-level attacks (typos, swapped, dropped or inserted
 * letters): a token that is not a known word is replaced by the most frequent known word
 * within one edit (two for words of 6+ letters), as in Pruthi et al. 2019, "Combating
 * Adversarial Misspellings with Robust Word Recognition" (https://arxiv.org/abs/1905.11268),
 * with a dictionary lookup instead of a learned recogniser.
 *
 * Candidates come from a symmetric-delete index (SymSpell, Garbe 2012): every vocabulary
 * word is stored under itself and its one-character deletions, and words of 6+ letters
 * also under their two-character deletions; a token looks up itself and its deletions
 * (two-character ones from 6 letters, where two edits are allowed), which finds every word
 * within the allowed distance, and the true distance (optimal string alignment) decides.
 * Two-character deletions matter because an attacker with two edits per word often makes
 * two swaps or substitutions ("compainse"), which one-deletion keys cannot bridge.
 */
import { stemmer } from 'stemmer';
import { MAX_WORD_LENGTH } from './budget.js';
import { familiarWords } from './lexicon.js';

export interface SpellingCorrector {
  /** The correction of a lower-case word, or undefined when none is close enough. */
  correct(word: string): string | undefined;
  /**
   * The most frequent vocabulary word spelled with exactly the letters of a lower-case
   * word, in another order within two edits (two adjacent swaps), or undefined. Unlike
   * `correct`, the answer depends only on the word's letters, not on which letters an
   * attacker swapped, so it cannot be steered to a word of his choosing.
   */
  unscramble(word: string): string | undefined;
  /** Number of words in the vocabulary. */
  readonly size: number;
}

const CACHE_LIMIT = 200_000;
/** Default: tokens (and vocabulary words) from this length get corrections within two edits, shorter ones within one. */
const TWO_EDITS_FROM = 6;

export interface SpellingOptions {
  /**
   * Length from which a token may be corrected within two edits (shorter: one); default 6.
   * An attacker with two character edits per word turns a 4- or 5-letter word into a
   * token one-edit repair cannot reach ("rtase"); 4 lets repair follow him, at the price
   * of more guesses on genuinely unknown short words (the most frequent neighbour wins).
   */
  readonly twoEditsFrom?: number;
  /**
   * Repair a token only when the vocabulary words (of 3+ letters) within the allowed distance
   * are all forms of one word (one Porter stem: "advertisement", "advertisements"); default
   * false (the most frequent nearest word wins). An attacker who made at most that many edits
   * to a vocabulary word then cannot steer the repair to another word: the one word in reach
   * is the word he edited. Where his edits land near two words, nothing is repaired, and the
   * token is left to the unknown-word rule as without this stage.
   */
  readonly onlyUnambiguous?: boolean;
  /**
   * With `onlyUnambiguous`: where the words in reach are forms of more than one word, repair
   * to the one most indicative of spam when its score here (e.g. {@link spamLogOdds}) is at
   * least `spamwardMin`, instead of leaving the token to the unknown-word rule. An attacker who
   * edits a spam word so two words are in reach then gets the spam word back (a dropped word
   * reads as ham); a ham typo near a spam word is read as that word, which the bench measures.
   */
  readonly spamward?: ReadonlyMap<string, number>;
  /** Least spam score of a spamward repair; default 1 (log-odds, about 2.7 to 1). */
  readonly spamwardMin?: number;
}

/**
 * Builds a corrector over a vocabulary of words and their counts (higher counts win ties in
 * distance). Words shorter than 4 letters are neither corrected nor proposed: short words
 * are too close to each other for a correction to be trusted; words over MAX_WORD_LENGTH
 * (64) letters are left out of the index, whose keys grow with the square of a word's length.
 *
 * @throws Nothing.
 * @example
 * const spelling = createSpellingCorrector(corpusWordCounts(train.texts, 3));
 * spelling.correct('mortgaeg'); // 'mortgage'
 */
export function createSpellingCorrector(vocabulary: Iterable<readonly [string, number]>, options: SpellingOptions = {}): SpellingCorrector {
  const twoEditsFrom = Math.max(4, Math.floor(options.twoEditsFrom ?? TWO_EDITS_FROM));
  const onlyUnambiguous = options.onlyUnambiguous === true;
  // Unambiguous repair counts 3-letter words among the words in reach ("yoou" is near "you" as well as "your").
  const minWordLength = onlyUnambiguous ? 3 : 4;
  const counts = new Map<string, number>();
  for (const [word, count] of vocabulary) {
    const w = word.toLowerCase();
    // A word over MAX_WORD_LENGTH would cost ~n² index keys, and no stage looks one up (budget.ts).
    if (w.length >= minWordLength && w.length <= MAX_WORD_LENGTH && /^\p{L}+$/u.test(w)) counts.set(w, Math.max(counts.get(w) ?? 0, count));
  }
  const index = new Map<string, string[]>();
  const put = (key: string, word: string): void => {
    const list = index.get(key);
    if (list === undefined) index.set(key, [word]);
    else if (!list.includes(word)) list.push(word);
  };
  for (const word of counts.keys()) {
    put(word, word);
    const once = deletions(word);
    for (const d of once) put(d, word);
    if (onlyUnambiguous || word.length >= Math.min(TWO_EDITS_FROM, twoEditsFrom))
      for (const d of new Set(once.flatMap(deletions))) put(d, word);
  }
  // Anagram classes: sorted letters -> vocabulary words, most frequent first.
  const anagrams = new Map<string, string[]>();
  for (const word of counts.keys()) {
    const key = sortedLetters(word);
    const list = anagrams.get(key);
    if (list === undefined) anagrams.set(key, [word]);
    else list.push(word);
  }
  for (const list of anagrams.values()) list.sort((a, b) => (counts.get(b) as number) - (counts.get(a) as number) || (a < b ? -1 : 1));
  // A word longer than the longest vocabulary word plus the edits allowed is within reach of
  // none; skipping it keeps the ~n² deletion keys of a very long token from ever being built.
  let longest = 0;
  for (const word of counts.keys()) longest = Math.max(longest, word.length);
  const cache = new Map<string, string | null>();
  return {
    size: counts.size,
    unscramble(word) {
      if (word.length < 4 || word.length > longest || counts.has(word)) return undefined;
      return anagrams.get(sortedLetters(word))?.find((candidate) => osaDistance(word, candidate) <= 2);
    },
    correct(word) {
      if (word.length > longest + 2) return undefined;
      const cached = cache.get(word);
      if (cached !== undefined) return cached ?? undefined;
      let best: string | undefined;
      if (word.length >= 4 && !counts.has(word) && /^[\p{L}0-9]+$/u.test(word)) {
        const limit = word.length >= twoEditsFrom ? 2 : 1;
        let bestDistance = Infinity;
        let bestCount = -1;
        const stemsInReach = new Set<string>();
        let spamBest: string | undefined;
        let spamBestScore = options.spamwardMin ?? 1;
        const seen = new Set<string>();
        const once = deletions(word);
        const keys = limit === 2 ? new Set([word, ...once, ...once.flatMap(deletions)]) : [word, ...once];
        for (const key of keys) {
          for (const candidate of index.get(key) ?? []) {
            if (seen.has(candidate)) continue;
            seen.add(candidate);
            if (Math.abs(candidate.length - word.length) > limit) continue;
            const d = osaDistance(word, candidate);
            if (d > limit) continue;
            if (onlyUnambiguous) stemsInReach.add(stemmer(candidate));
            const spamScore = options.spamward?.get(candidate);
            if (spamScore !== undefined && (spamScore > spamBestScore || (spamScore === spamBestScore && spamBest === undefined))) {
              spamBest = candidate;
              spamBestScore = spamScore;
            }
            const c = counts.get(candidate) ?? 0;
            if (d < bestDistance || (d === bestDistance && (c > bestCount || (c === bestCount && candidate < (best as string))))) {
              best = candidate;
              bestDistance = d;
              bestCount = c;
            }
          }
        }
        if (stemsInReach.size > 1) best = spamBest;
      }
      if (cache.size >= CACHE_LIMIT) cache.clear();
      cache.set(word, best ?? null);
      return best;
    },
  };
}

let defaultCorrector: SpellingCorrector | undefined;

/** A corrector over WordNet's familiar words (all with the same count), built once. */
export function defaultSpellingCorrector(): SpellingCorrector {
  defaultCorrector ??= createSpellingCorrector([...familiarWords()].map((w) => [w, 1] as const));
  return defaultCorrector;
}

function sortedLetters(word: string): string {
  return Array.from(word).sort().join('');
}

function deletions(word: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < word.length; i++) out.push(word.slice(0, i) + word.slice(i + 1));
  return out;
}

/** Optimal string alignment distance: insert, delete, substitute, swap adjacent, each 1. */
function osaDistance(a: string, b: string): number {
  const cols = b.length + 1;
  const d = new Int32Array((a.length + 1) * cols);
  for (let i = 0; i <= a.length; i++) d[i * cols] = i;
  for (let j = 0; j <= b.length; j++) d[j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(
        (d[(i - 1) * cols + j] as number) + 1,
        (d[i * cols + j - 1] as number) + 1,
        (d[(i - 1) * cols + j - 1] as number) + cost,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, (d[(i - 2) * cols + j - 2] as number) + 1);
      d[i * cols + j] = v;
    }
  }
  return d[a.length * cols + b.length] as number;
}

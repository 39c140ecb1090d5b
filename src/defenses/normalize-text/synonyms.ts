/**
 * Synonym encoding against word-substitution attacks (Wang et al. 2021, "Natural Language
 * Adversarial Defense through Synonym Encoding", SEM, https://arxiv.org/abs/1909.06723):
 * every word of a synonym cluster is replaced by one code word before the model sees the
 * text, so swapping "urgent" for "pressing" changes nothing the model can see. Clusters are
 * built greedily from a corpus vocabulary, most frequent word first: a word keeps the code it
 * was given as someone's synonym (or becomes its own code), and hands that code to its
 * still-unassigned WordNet synonyms. The same WordNet senses the synonym attack draws from
 * (the three most-used senses of the word's most-used part of speech) define the clusters.
 */
import { synonymsOf } from '../../attacks/text/wordnet.js';

/** Maps a lower-case word to its cluster's code word (the word itself when it has none). */
export interface SynonymEncoder {
  encode(word: string): string;
  /** Words with a code other than themselves. */
  readonly size: number;
}

export interface SynonymEncoderOptions {
  /** Senses per word whose lemmas join its cluster; default 3 (as the synonym attack). */
  readonly maxSenses?: number;
}

/**
 * Builds the encoder from word counts (e.g. `corpusWordCounts(train.texts)`).
 *
 * @throws DataError `E_WORDNET_MISSING` when the WordNet files cannot be read.
 * @example
 * const synonyms = createSynonymEncoder(corpusWordCounts(train.texts, 3));
 * normalizeText('Pressing business', { synonyms }); // 'Urgent business' when "urgent" is the more frequent
 */
export function createSynonymEncoder(vocabulary: Iterable<readonly [string, number]>, options: SynonymEncoderOptions = {}): SynonymEncoder {
  const maxSenses = options.maxSenses ?? 3;
  const counts = new Map<string, number>();
  for (const [word, count] of vocabulary) {
    const w = word.toLowerCase();
    if (/^[a-z]{3,}$/.test(w)) counts.set(w, Math.max(counts.get(w) ?? 0, count));
  }
  const ordered = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const code = new Map<string, string>();
  for (const [word] of ordered) {
    const own = code.get(word) ?? word;
    code.set(word, own);
    for (const synonym of synonymsOf(word, { maxSenses }).synonyms) {
      const s = synonym.toLowerCase();
      if (!code.has(s)) code.set(s, own);
    }
  }
  let size = 0;
  for (const [word, c] of code) if (word !== c) size++;
  return { encode: (word) => code.get(word) ?? word, size };
}

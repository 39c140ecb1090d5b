/**
 * Hashed n-gram features for text classifiers: lower-cased word unigrams and bigrams plus
 * character n-grams of each word (fastText-style, with `<` and `>` marking the word's
 * edges), hashed into a fixed number of buckets. Term frequencies are sublinear
 * (1 + ln tf) and each text's vector is L2-normalised, so long and short messages weigh
 * alike. Character n-grams are what lets a model see "viagra" inside "v1agra": most of the
 * word's n-grams survive a one-character edit.
 *
 * The hashing trick needs no vocabulary, so a trained model is fully described by its
 * weights and this configuration.
 */
import { UsageError } from '../../core/errors.js';

export interface FeaturizerConfig {
  /** Number of hash buckets (the feature vector's length); a power of two in [2^8, 2^20]. */
  readonly buckets: number;
  /** Largest word n-gram (1 = unigrams, 2 = unigrams and bigrams). */
  readonly maxWordNgram: number;
  /** Smallest and largest character n-gram within a word; [0, 0] turns them off. */
  readonly charNgrams: readonly [number, number];
  /**
   * Words starting with this prefix are markers (the normaliser's `zzobf...` words, one per
   * repair or dropped word); '' (default) treats them as words like any other. With a prefix,
   * the text also gets "at least k markers" and "markers are at least r of the words" features
   * (thermometer codes of the count and the share). A marker word alone is counted
   * sublinearly like any word, so twenty disguised words would read little different from
   * five; the codes let the model weigh how much of a message was disguised.
   */
  readonly markerPrefix: string;
  /**
   * The value of each marker code. 0 (default): the codes are buckets like the n-grams and
   * share the text's L2 normalisation, so in a 300-word message (thousands of n-grams) a code
   * weighs a twentieth of what it weighs in a 10-word one, and long messages can take many
   * disguised words almost unnoticed. Above 0: the n-grams are normalised alone and each
   * code is added at this fixed value, so how much was disguised weighs the same at any length.
   */
  readonly markerWeight: number;
}

export const DEFAULT_FEATURIZER: FeaturizerConfig = Object.freeze({
  buckets: 1 << 16,
  maxWordNgram: 2,
  charNgrams: [3, 5] as const,
  markerPrefix: '',
  markerWeight: 0,
});

// Thermometer steps of the marker features: a text with 9 markers among 60 words (15%) has
// the count codes 1, 2, 4, 8 and the share codes up to 0.15.
const MARKER_COUNT_STEPS = [1, 2, 4, 8, 16, 32, 64];
const MARKER_SHARE_STEPS = [0.01, 0.02, 0.03, 0.045, 0.06, 0.08, 0.1, 0.12, 0.15, 0.2, 0.25, 0.3, 0.4];

/** A sparse, L2-normalised feature vector: sorted distinct bucket indices and their values. */
export interface SparseVector {
  readonly indices: Int32Array;
  readonly values: Float32Array;
}

// Words: letters and digits, with inner apostrophes ("don't"); a few symbols spam leans on
// ($, !) are tokens of their own because their counts carry signal.
const TOKEN_RE = /[\p{L}\p{N}]+(?:['’][\p{L}\p{N}]+)*|[$€£!]/gu;
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
// Distinct seeds per feature kind so the word "the" and the char n-gram "the" differ.
const SEED_WORD = 0x5bd1e995;
const SEED_BIGRAM = 0x27d4eb2f;
const SEED_CHAR = 0x165667b1;
const SEED_MARKER = 0x9e3779b9;
const WORD_CACHE_LIMIT = 200_000;

/**
 * Turns texts into hashed n-gram vectors. Instances keep a per-word cache (the unigram and
 * character n-gram buckets of each word seen), which makes re-featurising the many
 * near-identical texts an attack queries cheap.
 */
export class HashedNgramFeaturizer {
  readonly config: FeaturizerConfig;
  private readonly counts: Float32Array;
  private touched: Int32Array;
  private readonly wordCache = new Map<string, Int32Array>();

  /**
   * @throws UsageError `E_FEATURIZER_CONFIG` for a bucket count that is not a power of two
   *   in [2^8, 2^20], a word n-gram size outside 1..3, or bad character n-gram bounds.
   */
  constructor(config: Partial<FeaturizerConfig> = {}) {
    const full: FeaturizerConfig = { ...DEFAULT_FEATURIZER, ...config };
    const { buckets, maxWordNgram, charNgrams, markerPrefix, markerWeight } = full;
    if (!Number.isInteger(buckets) || buckets < 256 || buckets > 1 << 20 || (buckets & (buckets - 1)) !== 0) {
      throw new UsageError('E_FEATURIZER_CONFIG', `Featurizer: buckets must be a power of two in [256, 1048576], got ${buckets}.`, {
        details: { buckets },
      });
    }
    if (!Number.isInteger(maxWordNgram) || maxWordNgram < 1 || maxWordNgram > 3) {
      throw new UsageError('E_FEATURIZER_CONFIG', `Featurizer: maxWordNgram must be 1, 2 or 3, got ${maxWordNgram}.`, {
        details: { maxWordNgram },
      });
    }
    const [lo, hi] = charNgrams;
    if (!(lo === 0 && hi === 0) && !(Number.isInteger(lo) && Number.isInteger(hi) && lo >= 1 && hi >= lo && hi <= 8)) {
      throw new UsageError(
        'E_FEATURIZER_CONFIG',
        `Featurizer: charNgrams must be [0, 0] or [min, max] with 1 <= min <= max <= 8, got [${lo}, ${hi}].`,
        {
          details: { charNgrams },
        },
      );
    }
    if (typeof markerPrefix !== 'string' || /[^\p{Ll}\p{N}]/u.test(markerPrefix)) {
      throw new UsageError(
        'E_FEATURIZER_CONFIG',
        `Featurizer: markerPrefix must be '' or lower-case letters and digits (a word's start), got ${JSON.stringify(markerPrefix)}.`,
        {
          details: { markerPrefix },
        },
      );
    }
    if (!(Number.isFinite(markerWeight) && markerWeight >= 0 && markerWeight <= 1)) {
      throw new UsageError(
        'E_FEATURIZER_CONFIG',
        `Featurizer: markerWeight must be a number in [0, 1] (0: codes normalised with the n-grams), got ${markerWeight}.`,
        {
          details: { markerWeight },
        },
      );
    }
    this.config = Object.freeze({ buckets, maxWordNgram, charNgrams: [lo, hi] as const, markerPrefix, markerWeight });
    this.counts = new Float32Array(buckets);
    this.touched = new Int32Array(1024);
  }

  get size(): number {
    return this.config.buckets;
  }

  /** Lower-cased word tokens of a text, as the features see them. */
  tokens(text: string): string[] {
    return text.toLowerCase().match(TOKEN_RE) ?? [];
  }

  /**
   * The buckets one word contributes to on its own: its unigram and its character n-grams
   * (bigrams depend on the neighbours and are left out). Empty for text with no word.
   */
  indicesOfWord(word: string): number[] {
    const out = new Set<number>();
    for (const token of this.tokens(word)) for (const i of this.wordIndices(token)) out.add(i);
    return [...out].sort((a, b) => a - b);
  }

  /** The sparse, sublinear-tf, L2-normalised vector of one text. */
  sparse(text: string): SparseVector {
    const counts = this.counts;
    let n = 0;
    const add = (index: number): void => {
      if (counts[index] === 0) {
        if (n === this.touched.length) {
          const grown = new Int32Array(n * 2);
          grown.set(this.touched);
          this.touched = grown;
        }
        this.touched[n++] = index;
      }
      counts[index] = (counts[index] as number) + 1;
    };
    const words = this.tokens(text);
    const mask = this.config.buckets - 1;
    const prefix = this.config.markerPrefix;
    let markers = 0;
    for (let w = 0; w < words.length; w++) {
      const word = words[w] as string;
      if (prefix !== '' && word.startsWith(prefix)) markers++;
      for (const index of this.wordIndices(word)) add(index);
      if (this.config.maxWordNgram >= 2 && w > 0) add(hashParts(SEED_BIGRAM, words[w - 1] as string, word) & mask);
      if (this.config.maxWordNgram >= 3 && w > 1)
        add(hashParts(SEED_BIGRAM ^ 0x3, `${words[w - 2] as string}\u0001${words[w - 1] as string}`, word) & mask);
    }
    const codes: number[] = [];
    if (markers > 0) {
      // The share is of the words the text kept, so dropping words raises it.
      const share = markers / Math.max(1, words.length - markers);
      for (const step of MARKER_COUNT_STEPS) if (markers >= step) codes.push(hashParts(SEED_MARKER, 'count', String(step)) & mask);
      for (const step of MARKER_SHARE_STEPS) if (share >= step) codes.push(hashParts(SEED_MARKER, 'share', String(step)) & mask);
    }
    const weight = this.config.markerWeight;
    if (weight === 0) for (const code of codes) add(code);
    const indices = this.touched.slice(0, n).sort();
    const values = new Float32Array(n);
    let norm = 0;
    for (let k = 0; k < n; k++) {
      const v = 1 + Math.log(counts[indices[k] as number] as number);
      values[k] = v;
      norm += v * v;
      counts[indices[k] as number] = 0;
    }
    const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    for (let k = 0; k < n; k++) values[k] = (values[k] as number) * scale;
    return weight > 0 && codes.length > 0 ? withFixedCodes(indices, values, codes, weight) : { indices, values };
  }

  /** Dense row-major `[texts.length, buckets]` features, for TF.js. */
  dense(texts: readonly string[]): Float32Array {
    const out = new Float32Array(texts.length * this.config.buckets);
    texts.forEach((text, row) => {
      const { indices, values } = this.sparse(text);
      const base = row * this.config.buckets;
      for (let k = 0; k < indices.length; k++) out[base + (indices[k] as number)] = values[k] as number;
    });
    return out;
  }

  private wordIndices(word: string): Int32Array {
    let cached = this.wordCache.get(word);
    if (cached) return cached;
    const mask = this.config.buckets - 1;
    const out: number[] = [hashParts(SEED_WORD, word, '') & mask];
    const [lo, hi] = this.config.charNgrams;
    if (hi > 0) {
      const padded = `<${word}>`;
      for (let start = 0; start < padded.length; start++) {
        let h = (FNV_OFFSET ^ SEED_CHAR) >>> 0;
        for (let len = 1; len <= hi && start + len <= padded.length; len++) {
          h = Math.imul(h ^ padded.charCodeAt(start + len - 1), FNV_PRIME) >>> 0;
          // The whole padded word as an n-gram would duplicate the unigram feature.
          if (len >= lo && len < padded.length) out.push(finalize(h) & mask);
        }
      }
    }
    cached = Int32Array.from(out);
    if (this.wordCache.size >= WORD_CACHE_LIMIT) this.wordCache.clear();
    this.wordCache.set(word, cached);
    return cached;
  }
}

/** `indices`/`values` with `weight` added at each code's bucket (to the n-gram there, if a hash collides). */
function withFixedCodes(indices: Int32Array, values: Float32Array, codes: readonly number[], weight: number): SparseVector {
  // A few codes into thousands of n-grams: merge two sorted lists.
  const extra = new Map<number, number>();
  for (const code of codes) extra.set(code, (extra.get(code) ?? 0) + weight);
  const codeIndices = [...extra.keys()].sort((a, b) => a - b);
  const outIndices = new Int32Array(indices.length + codeIndices.length);
  const outValues = new Float32Array(outIndices.length);
  let i = 0;
  let c = 0;
  let n = 0;
  while (i < indices.length || c < codeIndices.length) {
    const a = i < indices.length ? (indices[i] as number) : Infinity;
    const b = c < codeIndices.length ? (codeIndices[c] as number) : Infinity;
    outIndices[n] = Math.min(a, b);
    outValues[n] = (a <= b ? (values[i++] as number) : 0) + (b <= a ? (extra.get(codeIndices[c++] as number) as number) : 0);
    n++;
  }
  return { indices: outIndices.slice(0, n), values: outValues.slice(0, n) };
}

function hashParts(seed: number, a: string, b: string): number {
  let h = (FNV_OFFSET ^ seed) >>> 0;
  for (let i = 0; i < a.length; i++) h = Math.imul(h ^ a.charCodeAt(i), FNV_PRIME) >>> 0;
  h = Math.imul(h ^ 0x20, FNV_PRIME) >>> 0;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b.charCodeAt(i), FNV_PRIME) >>> 0;
  return finalize(h);
}

// FNV-1a's low bits are weak for short keys; a murmur-style finaliser spreads them before masking.
function finalize(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

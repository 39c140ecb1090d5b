/**
 * The full text defence, built from the training corpus's vocabulary, and that vocabulary
 * saved beside the model so the deployed filter normalises exactly as in training.
 *
 * The default normaliser (WordNet words only) undoes look-alikes, invisible characters, leet
 * and split words. The vocabulary defence adds what the text benchmark measured against an
 * adaptive attacker (see bench/text.ts): the corpus's own words join the lexicon (product
 * names, jargon), and an inflection counts only where it fits the word's part of speech
 * ("thesed" and "databased" are not words); a misspelling is repaired only when every word within two edits is a form
 * of one word (so an edit cannot steer the repair); words still unknown, one- and two-letter
 * fragments included, are dropped and marked, so a disguise counts as evidence rather than
 * as a new word; WordNet synonyms read as one code word per cluster. Models trained behind it
 * should read the marker codes (`markerPrefix: OBFUSCATION_MARKER_PREFIX` in the featurizer).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { DataError } from '../../core/errors.js';
import { writeJsonFile } from '../../core/files.js';
import { corpusWordCounts, createLexicon } from './lexicon.js';
import { OBFUSCATION_MARKER_PREFIX, type NormalizeTextOptions } from './normalize.js';
import { createSpellingCorrector } from './spelling.js';
import { createSynonymEncoder } from './synonyms.js';

/** A word joins the vocabulary from this many occurrences in the training texts. */
export const VOCABULARY_MIN_COUNT = 3;
/** The file {@link saveVocabulary} writes into a model directory. */
export const VOCABULARY_FILE = 'vocabulary.json';
const FORMAT = 'rampart-text-vocabulary/1';

/** Word counts of the training texts (words seen at least {@link VOCABULARY_MIN_COUNT} times). */
export function trainingVocabulary(texts: Iterable<string>): Map<string, number> {
  return corpusWordCounts(texts, VOCABULARY_MIN_COUNT);
}

export interface VocabularyDefenceOptions {
  /** Encode WordNet synonyms as one code word per cluster; default true (loads WordNet). */
  readonly synonyms?: boolean;
  /**
   * Spam scores of vocabulary words ({@link spamLogOdds}): an ambiguous misspelling is repaired
   * to the most spam-indicative word in reach (SpellingOptions.spamward). Experimental, off by
   * default: bench:text `--spamward` measures it.
   */
  readonly spamward?: ReadonlyMap<string, number>;
}

/**
 * Smoothed log-odds that a message holding each word is spam, from labelled training texts
 * (document counts, add-one): log((spam_w + 1) / (spam + 2)) - log((ham_w + 1) / (ham + 2)).
 * Only words of `vocabulary` are scored.
 */
export function spamLogOdds(
  texts: readonly string[],
  labels: ArrayLike<number>,
  positive: number,
  vocabulary: ReadonlyMap<string, number>,
): Map<string, number> {
  const inSpam = new Map<string, number>();
  const inHam = new Map<string, number>();
  let spam = 0;
  let ham = 0;
  texts.forEach((text, i) => {
    const isSpam = labels[i] === positive;
    if (isSpam) spam++;
    else ham++;
    const into = isSpam ? inSpam : inHam;
    for (const w of new Set(text.toLowerCase().match(/[\p{L}\p{N}]{3,}/gu) ?? []))
      if (vocabulary.has(w)) into.set(w, (into.get(w) ?? 0) + 1);
  });
  const out = new Map<string, number>();
  for (const w of vocabulary.keys())
    out.set(w, Math.log(((inSpam.get(w) ?? 0) + 1) / (spam + 2)) - Math.log(((inHam.get(w) ?? 0) + 1) / (ham + 2)));
  return out;
}

/**
 * Normaliser options of the full defence over `vocabulary` (from {@link trainingVocabulary}).
 *
 * @throws DataError `E_WORDNET_MISSING` when synonyms are on and WordNet cannot be read.
 * @example
 * const normalize = vocabularyDefence(trainingVocabulary(train.texts));
 * const filter = normalizedClassifier(model, normalize);
 */
export function vocabularyDefence(vocabulary: ReadonlyMap<string, number>, options: VocabularyDefenceOptions = {}): NormalizeTextOptions {
  return {
    lexicon: createLexicon(vocabulary.keys(), { inflectByPartOfSpeech: true }),
    spelling: createSpellingCorrector(vocabulary, {
      twoEditsFrom: 4,
      onlyUnambiguous: true,
      ...(options.spamward ? { spamward: options.spamward } : {}),
    }),
    markObfuscation: true,
    repairCapitalised: true,
    unknownWords: 'drop',
    unknownWordMinLength: 1,
    ...(options.synonyms === false ? {} : { synonyms: createSynonymEncoder(vocabulary) }),
  };
}

const fileSchema = z.object({
  format: z.literal(FORMAT),
  minCount: z.number().int().min(1),
  synonyms: z.boolean(),
  words: z.array(z.tuple([z.string().min(1), z.number().int().min(1)])),
});

export interface SavedVocabulary {
  readonly vocabulary: Map<string, number>;
  /** Whether the model was trained with synonym encoding. */
  readonly synonyms: boolean;
}

/** Writes the vocabulary (and whether synonyms are encoded) to `dir/vocabulary.json`, atomically. */
export async function saveVocabulary(dir: string, saved: SavedVocabulary): Promise<void> {
  const words = [...saved.vocabulary].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  await writeJsonFile(join(dir, VOCABULARY_FILE), { format: FORMAT, minCount: VOCABULARY_MIN_COUNT, synonyms: saved.synonyms, words });
}

/**
 * The vocabulary saved in `dir`, or undefined when the model there has none (it was trained
 * without the vocabulary defence).
 *
 * @throws DataError `E_VOCABULARY_CORRUPT` when the file is not a vocabulary {@link saveVocabulary} wrote.
 */
export function loadVocabulary(dir: string): SavedVocabulary | undefined {
  const path = join(dir, VOCABULARY_FILE);
  if (!existsSync(path)) return undefined;
  let parsed: z.infer<typeof fileSchema>;
  try {
    parsed = fileSchema.parse(JSON.parse(readFileSync(path, 'utf8')));
  } catch (error) {
    throw new DataError(
      'E_VOCABULARY_CORRUPT',
      `Cannot read the text vocabulary ${path}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}. Retrain the model (the vocabulary is written with it) or restore the file.`,
      {
        details: { path },
      },
    );
  }
  return { vocabulary: new Map(parsed.words), synonyms: parsed.synonyms };
}

/** What {@link savedTextNormalization} needs to know of a saved model (a HashedTextClassifier's `info`). */
export interface SavedTextModelInfo {
  readonly trainedOnNormalizedText: boolean;
  readonly featurizer: { readonly markerPrefix: string };
}

/** A saved model's normalisation: its options, and whether they are its vocabulary's defence or the default normaliser. */
export interface SavedTextNormalization {
  readonly source: 'vocabulary' | 'default';
  readonly options: NormalizeTextOptions;
}

/**
 * The normalisation the text model saved in `dir` was trained behind, so it is deployed
 * reading text exactly as in training: the vocabulary defence over its saved vocabulary; the
 * default normaliser for a model trained on normalised text without one; undefined for a
 * model trained on raw text.
 *
 * @throws DataError `E_VOCABULARY_MISSING` when the model reads the defence's marker words
 *   (it was trained behind the vocabulary defence) but its vocabulary file is gone;
 *   `E_VOCABULARY_CORRUPT` as {@link loadVocabulary}.
 * @example
 * const model = await loadTextClassifier(dir);
 * const normalization = savedTextNormalization(dir, model.info);
 * const filter = normalization ? normalizedClassifier(model, normalization.options) : model;
 */
export function savedTextNormalization(dir: string, info: SavedTextModelInfo): SavedTextNormalization | undefined {
  if (!info.trainedOnNormalizedText) return undefined;
  const saved = loadVocabulary(dir);
  if (saved) return { source: 'vocabulary', options: vocabularyDefence(saved.vocabulary, { synonyms: saved.synonyms }) };
  if (info.featurizer.markerPrefix === OBFUSCATION_MARKER_PREFIX) {
    throw new DataError(
      'E_VOCABULARY_MISSING',
      `The text model in ${dir} was trained behind the vocabulary defence (it reads the normaliser's marker words), but its ${VOCABULARY_FILE} is gone; without it the filter would normalise differently from training. Rerun the plan (text-train retrains when the file is missing) or restore the file.`,
      {
        details: { path: join(dir, VOCABULARY_FILE) },
      },
    );
  }
  return { source: 'default', options: {} };
}

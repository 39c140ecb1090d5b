/** Runtime defence for text filters: the normalisation pipeline and the defended classifier. */
export {
  normalizeText,
  normalizeTextWithReport,
  createTextNormalizer,
  NORMALIZE_STAGES,
  OBFUSCATION_MARKER_PREFIX,
  type NormalizeStage,
  type NormalizeTextOptions,
  type NormalizeReport,
  type StageReport,
} from './normalize.js';
export { MAX_NORMALIZE_TEXT_LENGTH, MAX_WORD_LENGTH, MAX_ADDRESS_LENGTH, MAX_LEET_COMBOS_PER_TOKEN, LINE_CACHE_CHARS } from './budget.js';
export { normalizedClassifier, type NormalizedClassifierOptions } from './normalized-classifier.js';
export { createLexicon, defaultTextLexicon, corpusVocabulary, corpusWordCounts, familiarWords, type Lexicon } from './lexicon.js';
export { createSpellingCorrector, defaultSpellingCorrector, type SpellingCorrector } from './spelling.js';
export { createSynonymEncoder, type SynonymEncoder, type SynonymEncoderOptions } from './synonyms.js';
export { confusableTable, type ConfusableTable } from './confusables.js';
export {
  vocabularyDefence,
  trainingVocabulary,
  saveVocabulary,
  loadVocabulary,
  savedTextNormalization,
  VOCABULARY_FILE,
  VOCABULARY_MIN_COUNT,
  type SavedVocabulary,
  type SavedTextNormalization,
  type VocabularyDefenceOptions,
} from './vocabulary-defence.js';
export { loadSavedTextFilter, type SavedTextFilter } from './saved-filter.js';

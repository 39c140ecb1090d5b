/** The text data layer: the SpamAssassin corpus, users' JSONL/CSV files, dedupe and splits. */
export { parseEmail, emailToText, htmlToText, type ParsedEmail } from './email.js';
export {
  loadSpamAssassin,
  spamAssassinSplits,
  SPAM_ASSASSIN_GROUPS,
  SPAM_ASSASSIN_CLASSES,
  type SpamAssassinGroup,
  type SpamAssassinOptions,
  type SpamAssassinDataset,
} from './spam-assassin.js';
export { loadJsonlTexts } from './jsonl.js';
export { loadCsvTexts, type CsvTextOptions } from './csv.js';
export type { LabelledTextOptions } from './labelled-records.js';
export {
  checkTextDataset,
  contentKey,
  dedupeTexts,
  splitTextDataset,
  takeTexts,
  sampleTexts,
  type TextDataset,
  type TextSplits,
  type TextSplitOptions,
  type DedupeReport,
} from './text-dataset.js';

/** The contract every normalisation stage fulfils (see `../normalize.ts` for the pipeline). */
import type { Lexicon } from '../lexicon.js';
import type { SpellingCorrector } from '../spelling.js';

/** What a stage may consult: the word list, the vocabulary of the repair stages, the pipeline's switches. */
export interface StageContext {
  readonly lexicon: Lexicon;
  readonly spelling: SpellingCorrector | undefined;
  readonly repairCapitalised: boolean;
}

/** The text after the stage and how many characters or tokens it changed (0: the text as given). */
export interface StageResult {
  readonly text: string;
  readonly changes: number;
}

export type StageFn = (text: string, context: StageContext) => StageResult;

/** Every transformation of the library, grouped by family, in catalog order. */
import type { TextTransformation } from '../types.js';
import { CHAR_EDIT_TRANSFORMATIONS } from './char-edit.js';
import { TYPO_TRANSFORMATIONS } from './typo.js';
import { HOMOGLYPH_TRANSFORMATIONS } from './homoglyph.js';
import { INVISIBLE_TRANSFORMATIONS } from './invisible.js';
import { LEET_TRANSFORMATIONS } from './leet.js';
import { SPLIT_TRANSFORMATIONS } from './split.js';
import { CASE_TRANSFORMATIONS } from './case.js';
import { SYNONYM_TRANSFORMATIONS } from './synonym.js';

export const ALL_TRANSFORMATIONS: readonly TextTransformation[] = Object.freeze([
  ...CHAR_EDIT_TRANSFORMATIONS,
  ...TYPO_TRANSFORMATIONS,
  ...HOMOGLYPH_TRANSFORMATIONS,
  ...INVISIBLE_TRANSFORMATIONS,
  ...LEET_TRANSFORMATIONS,
  ...SPLIT_TRANSFORMATIONS,
  ...CASE_TRANSFORMATIONS,
  ...SYNONYM_TRANSFORMATIONS,
]);

export { charSwap, charInsert, charDelete, charSubstitute } from './char-edit.js';
export { keyboardTypo, keyboardNeighbours } from './typo.js';
export { homoglyph, homoglyphsOf } from './homoglyph.js';
export { invisible, INVISIBLE_CHARACTERS } from './invisible.js';
export { leet, LEET_MAP } from './leet.js';
export { splitSpace, splitPunct } from './split.js';
export { caseFlip } from './case.js';
export { wordnetSynonym } from './synonym.js';

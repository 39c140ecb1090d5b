/**
 * `invisible`: remove default-ignorable code points (zero-width space/joiners U+200B-200F, word
 * joiner and invisible operators U+2060-2064, BOM U+FEFF, soft hyphen, variation selectors, tag
 * characters, bidi controls, Hangul fillers...).
 */
import type { StageFn } from './types.js';

export const invisibleStage: StageFn = (text) => {
  let changes = 0;
  const out = text.replace(/\p{Default_Ignorable_Code_Point}/gu, () => {
    changes++;
    return '';
  });
  return { text: out, changes };
};

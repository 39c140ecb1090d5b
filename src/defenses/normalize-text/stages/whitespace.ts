/** `whitespace`: collapse runs of spaces and tabs, trim. */
import type { StageFn } from './types.js';

export const whitespaceStage: StageFn = (text) => {
  const out = text
    .replace(/[^\S\n]+/g, ' ')
    .replace(/ ?\n ?/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
  return { text: out, changes: out === text ? 0 : Math.max(1, Math.abs(text.length - out.length)) };
};

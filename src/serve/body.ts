/**
 * The JSON body parser for every route. Stricter than the default on purpose: the bytes
 * must be valid UTF-8 (the default decoder would silently turn bad bytes into U+FFFD, so
 * two different byte strings would reach the model as one text), nesting is capped before
 * `JSON.parse` runs (so a body of a million `[` costs a linear scan, not a parser's work
 * and memory), and each failure has its own code.
 */
import { InputError } from '../core/errors.js';

const decoder = new TextDecoder('utf-8', { fatal: true });

/** True when `text` opens more than `max` nested arrays/objects at some point. */
export function nestingExceeds(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 /* [ */ || c === 123 /* { */) {
      if (++depth > max) return true;
    } else if (c === 93 /* ] */ || c === 125 /* } */) depth--;
  }
  return false;
}

/**
 * Decodes and parses a JSON body.
 *
 * @throws InputError `E_BODY_UTF8`, `E_BODY_DEPTH`, `E_BODY_JSON`.
 */
export function parseJsonBody(bytes: Buffer, maxDepth: number): unknown {
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    throw new InputError('E_BODY_UTF8', 'The request body is not valid UTF-8; send JSON encoded as UTF-8.');
  }
  if (nestingExceeds(text, maxDepth)) {
    throw new InputError('E_BODY_DEPTH', `The request body nests arrays/objects more than ${maxDepth} levels deep; flatten the input.`, {
      details: { maxDepth },
    });
  }
  if (text.trim() === '') throw new InputError('E_BODY_JSON', 'The request body is empty; send a JSON object.');
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new InputError('E_BODY_JSON', `The request body is not valid JSON (${cause instanceof Error ? cause.message : 'parse error'}).`);
  }
}

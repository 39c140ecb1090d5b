/**
 * Redaction of captured text before it is stored: URLs, e-mail addresses and numbers are
 * replaced by placeholders, so a capture store never holds a customer's address, account
 * or phone number even when the model's input did. URLs go first (they contain digits and
 * `@`), then e-mails, then numbers.
 */
import type { RedactionOptions } from './capture-types.js';

const URL_RE = /\b(?:https?:\/\/|ftp:\/\/|www\.)[^\s<>"']+/gi;
const EMAIL_RE = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;
// Digit runs with their separators (1,234.56 / 555-0100 / +44 20 7946 0958) become one placeholder.
const NUMBER_RE = /\+?\d(?:[\d.,\- ]*\d)?/g;

/**
 * Masks what `options` asks for; returns the text and whether anything changed.
 *
 * @example redactText('mail bob@x.org', { emails: true, urls: true, numbers: true }) // { text: 'mail [EMAIL]', changed: true }
 */
export function redactText(text: string, options: RedactionOptions): { text: string; changed: boolean } {
  let out = text;
  if (options.urls) out = out.replace(URL_RE, '[URL]');
  if (options.emails) out = out.replace(EMAIL_RE, '[EMAIL]');
  if (options.numbers) out = out.replace(NUMBER_RE, '[NUMBER]');
  return { text: out, changed: out !== text };
}

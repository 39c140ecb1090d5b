/**
 * A small RFC 822 / MIME reader for turning a raw e-mail into the text a filter sees: the
 * Subject and the readable body. Routing headers (Received, Return-Path, X-Spam-*...) are
 * dropped on purpose: in public corpora they leak the label (the collector's spam tags,
 * mailing-list names) and a filter trained on them learns the corpus, not the content.
 */
import { Buffer } from 'node:buffer';

/** What a filter keeps of one e-mail. */
export interface ParsedEmail {
  /** The decoded Subject header ('' when absent). */
  subject: string;
  /** The readable body: text/plain parts, or text/html parts stripped to text. */
  body: string;
}

interface MimePart {
  headers: Map<string, string>;
  body: string;
}

interface ContentType {
  type: string;
  params: Map<string, string>;
}

// Nested multiparts deeper than this are treated as opaque: real mail nests 3-4 levels,
// and a cap keeps a hostile message from recursing without end.
const MAX_DEPTH = 8;

/**
 * Parses a raw e-mail (headers, blank line, body) into its Subject and readable body.
 * Handles header folding, RFC 2047 encoded words, quoted-printable and base64 transfer
 * encodings, declared charsets, multipart bodies (preferring text/plain inside
 * multipart/alternative), attached message/rfc822 messages, and strips HTML to text.
 * Attachments that are not text are skipped. Never throws on malformed mail: what cannot
 * be decoded is kept as it is.
 *
 * @throws Nothing; malformed input yields a best-effort result.
 * @example
 * parseEmail('Subject: Hi\n\nHello there').body; // 'Hello there'
 */
export function parseEmail(raw: string): ParsedEmail {
  const message = splitPart(raw);
  return {
    subject: collapseWhitespace(decodeEncodedWords(message.headers.get('subject') ?? '')),
    body: collapseWhitespace(readableText(message, 0)),
  };
}

/**
 * The Subject and body joined as one text (subject, blank line, body), as the text
 * classifiers see an e-mail.
 *
 * @throws Nothing; see {@link parseEmail}.
 * @example
 * emailToText('Subject: Win big\n\n<p>Click <b>now</b></p>'); // 'Win big\n\nClick now'
 */
export function emailToText(raw: string): string {
  const { subject, body } = parseEmail(raw);
  if (subject === '') return body;
  if (body === '') return subject;
  return `${subject}\n\n${body}`;
}

function splitPart(raw: string): MimePart {
  const text = raw.replace(/\r\n?/g, '\n');
  const blank = text.indexOf('\n\n');
  const head = blank < 0 ? text : text.slice(0, blank);
  const body = blank < 0 ? '' : text.slice(blank + 2);
  const headers = new Map<string, string>();
  // Unfold: a line starting with whitespace continues the previous header.
  const lines = head.replace(/\n[ \t]+/g, ' ').split('\n');
  // The mbox "From " envelope line has no colon after the name; skip it and any junk.
  for (const line of lines) {
    const match = /^([!-9;-~]+):[ \t]*(.*)$/.exec(line);
    if (!match) continue;
    const name = (match[1] as string).toLowerCase();
    // The first occurrence wins, as for Subject in mail readers.
    if (!headers.has(name)) headers.set(name, (match[2] as string).trim());
  }
  if (blank < 0 && headers.size === 0) return { headers, body: text };
  return { headers, body };
}

function readableText(part: MimePart, depth: number): string {
  const contentType = parseContentType(part.headers.get('content-type'));
  const [major] = contentType.type.split('/');
  if (major === 'multipart' && depth < MAX_DEPTH) {
    const boundary = contentType.params.get('boundary');
    if (boundary === undefined || boundary === '') return '';
    const children = splitMultipart(part.body, boundary).map(splitPart);
    if (contentType.type === 'multipart/alternative') {
      const plain = children.find((c) => parseContentType(c.headers.get('content-type')).type === 'text/plain');
      const chosen = plain ?? children[children.length - 1];
      return chosen === undefined ? '' : readableText(chosen, depth + 1);
    }
    return children
      .map((c) => readableText(c, depth + 1))
      .filter((t) => t.trim() !== '')
      .join('\n\n');
  }
  if (contentType.type === 'message/rfc822' && depth < MAX_DEPTH) {
    const inner = splitPart(part.body);
    const subject = decodeEncodedWords(inner.headers.get('subject') ?? '');
    const body = readableText(inner, depth + 1);
    return subject === '' ? body : `${subject}\n\n${body}`;
  }
  const disposition = part.headers.get('content-disposition') ?? '';
  if (/^\s*attachment/i.test(disposition) && major !== 'text') return '';
  if (contentType.type !== 'text/plain' && contentType.type !== 'text/html' && contentType.type !== 'text/enriched') return '';
  const decoded = decodeBody(part.body, part.headers.get('content-transfer-encoding'), contentType.params.get('charset'));
  if (contentType.type === 'text/html' || (contentType.type === 'text/plain' && looksLikeHtml(decoded))) return htmlToText(decoded);
  if (contentType.type === 'text/enriched') return decoded.replace(/<\/?[a-z][^>]*>/gi, '');
  return decoded;
}

function parseContentType(value: string | undefined): ContentType {
  // RFC 2045: a missing Content-Type means text/plain.
  if (value === undefined || value.trim() === '') return { type: 'text/plain', params: new Map() };
  const [typePart = '', ...rest] = value.split(';');
  const params = new Map<string, string>();
  const paramText = rest.join(';');
  const re = /([!#-'*+.0-9A-Z^-~-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))/gi;
  for (let m = re.exec(paramText); m !== null; m = re.exec(paramText)) {
    const name = (m[1] as string).toLowerCase();
    if (!params.has(name)) params.set(name, m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? ''));
  }
  const type = typePart.trim().toLowerCase();
  return { type: type.includes('/') ? type : 'text/plain', params };
}

function splitMultipart(body: string, boundary: string): string[] {
  const delimiter = `--${boundary}`;
  const parts: string[] = [];
  let current: string[] | undefined;
  for (const line of body.split('\n')) {
    const trimmed = line.trimEnd();
    if (trimmed === `${delimiter}--`) {
      if (current) parts.push(current.join('\n'));
      current = undefined;
      break;
    }
    if (trimmed === delimiter) {
      if (current) parts.push(current.join('\n'));
      current = [];
      continue;
    }
    current?.push(line);
  }
  // A message cut off before its closing delimiter still yields its last part.
  if (current) parts.push(current.join('\n'));
  return parts;
}

function decodeBody(body: string, encoding: string | undefined, charset: string | undefined): string {
  const kind = (encoding ?? '').trim().toLowerCase();
  if (kind === 'base64') {
    const bytes = Buffer.from(body.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
    return decodeBytes(bytes, charset);
  }
  if (kind === 'quoted-printable') return decodeBytes(quotedPrintableBytes(body), charset);
  return body;
}

function quotedPrintableBytes(body: string): Buffer {
  const softBreaksRemoved = body.replace(/=[ \t]*\n/g, '');
  const bytes: number[] = [];
  for (let i = 0; i < softBreaksRemoved.length; i++) {
    const ch = softBreaksRemoved[i] as string;
    if (ch === '=' && /^[0-9A-Fa-f]{2}$/.test(softBreaksRemoved.slice(i + 1, i + 3))) {
      bytes.push(parseInt(softBreaksRemoved.slice(i + 1, i + 3), 16));
      i += 2;
      continue;
    }
    pushCharBytes(bytes, ch);
  }
  return Buffer.from(bytes);
}

// The corpus file was read as UTF-8 already, so a character may stand for several bytes.
function pushCharBytes(bytes: number[], ch: string): void {
  const code = ch.charCodeAt(0);
  if (code < 0x80) bytes.push(code);
  else for (const b of Buffer.from(ch, 'utf8')) bytes.push(b);
}

function decodeBytes(bytes: Uint8Array, charset: string | undefined): string {
  if (charset === undefined || charset.trim() === '') {
    // Undeclared 8-bit text: UTF-8 when it is valid UTF-8, else the Windows Latin-1 that
    // mail clients of the time sent unlabelled.
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      return new TextDecoder('windows-1252').decode(bytes);
    }
  }
  const label = charset.trim().toLowerCase();
  try {
    return new TextDecoder(label).decode(bytes);
  } catch {
    // An unknown or bogus charset label: Latin-1 keeps every byte visible and never fails.
    return Buffer.from(bytes).toString('latin1');
  }
}

/** RFC 2047 `=?charset?B|Q?text?=` words; whitespace between adjacent encoded words is dropped. */
function decodeEncodedWords(value: string): string {
  const joined = value.replace(/(=\?[^?\s]+\?[BbQq]\?[^?\s]*\?=)\s+(?==\?)/g, '$1');
  return joined.replace(/=\?([^?\s]+)\?([BbQq])\?([^?\s]*)\?=/g, (whole, charset: string, kind: string, text: string) => {
    const cs = charset.split('*')[0];
    if (kind.toUpperCase() === 'B') return decodeBytes(Buffer.from(text, 'base64'), cs);
    const bytes: number[] = [];
    for (let i = 0; i < text.length; i++) {
      const ch = text[i] as string;
      if (ch === '_') bytes.push(0x20);
      else if (ch === '=' && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
        bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
        i += 2;
      } else pushCharBytes(bytes, ch);
    }
    return bytes.length === 0 ? whole : decodeBytes(Uint8Array.from(bytes), cs);
  });
}

function looksLikeHtml(text: string): boolean {
  return /<(html|body|table|div|p|br|font|a\s)[\s>]/i.test(text.slice(0, 4000));
}

const NAMED_ENTITIES: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: ' ',
  copy: '©',
  reg: '®',
  trade: '™',
  euro: '€',
  pound: '£',
  yen: '¥',
  cent: '¢',
  middot: '·',
  bull: '•',
  hellip: '…',
  mdash: '—',
  ndash: '–',
  lsquo: '‘',
  rsquo: '’',
  ldquo: '“',
  rdquo: '”',
  laquo: '«',
  raquo: '»',
  deg: '°',
  times: '×',
  divide: '÷',
  eacute: 'é',
  egrave: 'è',
  agrave: 'à',
  aacute: 'á',
  ccedil: 'ç',
  uuml: 'ü',
  ouml: 'ö',
  auml: 'ä',
  szlig: 'ß',
  ntilde: 'ñ',
  iexcl: '¡',
  iquest: '¿',
  shy: '\u00ad',
};

/**
 * Strips HTML to readable text: drops scripts, styles and comments, turns block elements
 * into line breaks and decodes character references.
 */
export function htmlToText(html: string): string {
  return decodeEntities(
    html
      .replace(/<!--[\s\S]*?-->/g, ' ')
      .replace(/<(script|style|head)\b[\s\S]*?<\/\1\s*>/gi, ' ')
      .replace(/<\/?(p|div|br|tr|li|h[1-6]|table|blockquote|hr|center)\b[^>]*>/gi, '\n')
      .replace(/<\/?[a-z!][^>]*>/gi, ' '),
  );
}

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+[0-9]*);?/gi, (whole, ref: string) => {
    if (ref[0] === '#') {
      const code = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      return Number.isFinite(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return NAMED_ENTITIES[ref.toLowerCase()] ?? whole;
  });
}

/** Collapses runs of spaces and tabs, and runs of blank lines, and trims. */
function collapseWhitespace(text: string): string {
  return text
    .replace(/[ \t\u00a0\f\v]+/g, ' ')
    .replace(/ *\n */g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

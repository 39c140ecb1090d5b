/**
 * Server-side HTML without a template engine: a tagged template that escapes every
 * interpolated value unless it is already `SafeHtml` (built by this same tag), so a run
 * name like `<script>` reaches the browser as text. Arrays are joined, null and undefined
 * and false render as nothing.
 */

/** HTML that is already escaped; only `html` and `raw` make it. */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] as string);
}

export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | readonly HtmlValue[];

function render(value: HtmlValue): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

/** The tag: `html\`<td>${name}</td>\`` escapes `name`. */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0] as string;
  for (let i = 0; i < values.length; i++) out += render(values[i] as HtmlValue) + (strings[i + 1] as string);
  return new SafeHtml(out);
}

/** Trusted markup (constant strings, or output of a renderer that escapes, such as an SVG builder). */
export function raw(markup: string): SafeHtml {
  return new SafeHtml(markup);
}

/**
 * JSON for a `<script type="application/json">` block: `<` is escaped so the text can
 * never close the script element, whatever the data holds.
 */
export function jsonScript(id: string, data: unknown): SafeHtml {
  const text = JSON.stringify(data)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
  return new SafeHtml(`<script type="application/json" id="${escapeHtml(id)}">${text}</script>`);
}

/** A query string from defined values (`?a=1&b=x`), for links that keep the filters. */
export function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s === '' ? '' : `?${s}`;
}

export const pct = (v: number | undefined | null): string => (v === undefined || v === null ? '—' : `${(100 * v).toFixed(1)}%`);
export const short = (digest: string | null | undefined): string => (digest ? digest.slice(0, 12) : '—');

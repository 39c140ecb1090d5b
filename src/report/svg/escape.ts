/** Escaping for text placed in HTML or SVG, content and attribute values alike. */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** A number with at most `digits` decimals, for compact SVG coordinates. */
export function fixed(value: number, digits = 2): string {
  return String(Math.round(value * 10 ** digits) / 10 ** digits);
}

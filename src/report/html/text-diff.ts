/**
 * The text-attack diff view: original and adversarial text side by side with the changed
 * words marked. The marking comes from a word-level longest-common-subsequence diff of the
 * two strings, so it is right whatever a text attack recorded about its own changes.
 */
import { escapeHtml as esc } from '../svg/escape.js';

export interface TextAttackExample {
  original: string;
  adversarial: string;
  /** The attack's own record of its edits, listed under the diff (e.g. `free → fr\u200Bee (invisible)`). */
  changes: { before: string; after: string; family?: string }[];
  label?: string;
  originalPrediction?: string;
  adversarialPrediction?: string;
}

export interface TextAttackSet {
  threat: string;
  model: string;
  items: TextAttackExample[];
}

type Op = { kind: 'same' | 'del' | 'ins'; token: string };

/** Words and the whitespace between them, so joining the tokens gives the text back. */
function tokens(text: string): string[] {
  return text.split(/(\s+)/).filter((t) => t.length > 0);
}

/** Word-level diff of two texts (LCS; quadratic, fine for report-sized texts). */
export function diffWords(a: string, b: string): Op[] {
  const x = tokens(a);
  const y = tokens(b);
  const n = x.length;
  const m = y.length;
  const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      (lcs[i] as Uint32Array)[j] =
        x[i] === y[j]
          ? ((lcs[i + 1] as Uint32Array)[j + 1] as number) + 1
          : Math.max((lcs[i + 1] as Uint32Array)[j] as number, (lcs[i] as Uint32Array)[j + 1] as number);
    }
  }
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (x[i] === y[j]) {
      ops.push({ kind: 'same', token: x[i] as string });
      i++;
      j++;
    } else if (((lcs[i + 1] as Uint32Array)[j] as number) >= ((lcs[i] as Uint32Array)[j + 1] as number)) {
      ops.push({ kind: 'del', token: x[i++] as string });
    } else {
      ops.push({ kind: 'ins', token: y[j++] as string });
    }
  }
  while (i < n) ops.push({ kind: 'del', token: x[i++] as string });
  while (j < m) ops.push({ kind: 'ins', token: y[j++] as string });
  return ops;
}

/** Makes invisible and look-alike characters visible: zero-width ones as ⟨U+200B⟩. */
function reveal(text: string): string {
  return esc(text).replace(
    /[\u200B-\u200F\u2060-\u2064\uFEFF]/gu,
    (c) => `<span class="zw">⟨U+${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}⟩</span>`,
  );
}

/** The diff as HTML: deleted words struck through, inserted words highlighted. */
export function textDiffHtml(example: TextAttackExample): string {
  return diffWords(example.original, example.adversarial)
    .map((op) =>
      op.kind === 'same' ? reveal(op.token) : op.kind === 'del' ? `<del>${reveal(op.token)}</del>` : `<ins>${reveal(op.token)}</ins>`,
    )
    .join('');
}

export function textAttackSection(sets: readonly TextAttackSet[]): string {
  if (sets.length === 0) return '<p class="muted">No text threats were evaluated in this run.</p>';
  return sets
    .map((set) => {
      const rows = set.items
        .map((item) => {
          const changes = item.changes
            .map(
              (c) =>
                `<li><code>${reveal(c.before)}</code> → <code>${reveal(c.after)}</code>${c.family ? ` <span class="muted">(${esc(c.family)})</span>` : ''}</li>`,
            )
            .join('');
          const verdict =
            item.originalPrediction !== undefined && item.adversarialPrediction !== undefined
              ? `${esc(item.originalPrediction)} → <strong>${esc(item.adversarialPrediction)}</strong>`
              : '';
          return `<tr><td class="diff">${textDiffHtml(item)}</td><td>${item.label === undefined ? '' : esc(item.label)}</td><td>${verdict}</td><td><ul class="changes">${changes}</ul></td></tr>`;
        })
        .join('');
      return `<h3>${esc(set.threat)} <span class="muted">on ${esc(set.model)}</span></h3><table><thead><tr><th>text (changes marked)</th><th>label</th><th>prediction</th><th>edits</th></tr></thead><tbody>${rows}</tbody></table>`;
    })
    .join('');
}

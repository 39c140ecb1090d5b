/**
 * The text-attack diff view: original and adversarial text side by side with the changed
 * words marked. The marking comes from a word-level longest-common-subsequence diff of the
 * two strings, so it is right whatever a text attack recorded about its own changes.
 */
import { escapeHtml as esc } from '../svg/escape.js';
import type { TextShift } from '../../eval/explain/compare.js';
import type { TextShiftSummary } from '../../eval/explain/summary.js';

export interface TextAttackExample {
  original: string;
  adversarial: string;
  /** The attack's own record of its edits, listed under the diff (e.g. `free → fr\u200Bee (invisible)`). */
  changes: { before: string; after: string; family?: string }[];
  label?: string;
  originalPrediction?: string;
  adversarialPrediction?: string;
  /** Word importance for the label before and after the attack (leave-one-out), when explained. */
  explanation?: TextShift;
}

export interface TextAttackSet {
  threat: string;
  model: string;
  items: TextAttackExample[];
  /** The filter's decision threshold, with its clean test F1 and ham false-positive rate there. */
  operatingPoint?: { threshold: number; f1: number; falsePositiveRate?: number };
  /** Which words attacks changed most often across the attacked examples, when explained. */
  explanation?: TextShiftSummary;
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

const signed = (v: number): string => `${v >= 0 ? '+' : ''}${v.toFixed(3)}`;

/** What mattered: the clean text's top words for the label, then each changed word's importance before → after. */
function importanceCell(shift: TextShift | undefined): string {
  if (!shift) return '';
  const top = shift.topBefore.map((w) => `<code>${reveal(w.word)}</code> ${signed(w.importance)}`).join(', ');
  const moved = shift.moved
    .slice(0, 8)
    .map(
      (m) =>
        `<li><code>${reveal(m.before || '∅')}</code> ${signed(m.importanceBefore)} → <code>${reveal(m.after || '∅')}</code> ${signed(m.importanceAfter)}</li>`,
    )
    .join('');
  return `<span class="muted">p(label) ${shift.probabilityBefore.toFixed(3)} → ${shift.probabilityAfter.toFixed(3)}; top words:</span> ${top}<ul class="changes">${moved}</ul>`;
}

/** The set's summary: the words attacks changed most often, with their importance before. */
function wordSummary(summary: TextShiftSummary | undefined): string {
  if (!summary || summary.words.length === 0) return '';
  const words = summary.words.map((w) => `<code>${reveal(w.word)}</code> ×${w.count} (${signed(w.meanImportance)})`).join(', ');
  return `<p><strong>Words attacks exploit most often</strong> (over ${summary.examples} attacked examples; count, mean ${esc(summary.method)} importance for the label before the attack): ${words}</p>`;
}

export function textAttackSection(sets: readonly TextAttackSet[]): string {
  if (sets.length === 0) return '<p class="muted">No text threats were evaluated in this run.</p>';
  return sets
    .map((set) => {
      const explained = set.items.some((item) => item.explanation !== undefined);
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
          return `<tr><td class="diff">${textDiffHtml(item)}</td><td>${item.label === undefined ? '' : esc(item.label)}</td><td>${verdict}</td><td><ul class="changes">${changes}</ul></td>${explained ? `<td>${importanceCell(item.explanation)}</td>` : ''}</tr>`;
        })
        .join('');
      const op = set.operatingPoint;
      const point = op
        ? `<p class="muted">Operating point: flags from ${op.threshold}; clean F1 ${(op.f1 * 100).toFixed(2)}${op.falsePositiveRate === undefined ? '' : `, ham false positives ${(op.falsePositiveRate * 100).toFixed(2)}%`}.</p>`
        : '';
      return `<h3>${esc(set.threat)} <span class="muted">on ${esc(set.model)}</span></h3>${point}<table><thead><tr><th>text (changes marked)</th><th>label</th><th>prediction</th><th>edits</th>${explained ? '<th>word importance (before → after)</th>' : ''}</tr></thead><tbody>${rows}</tbody></table>${wordSummary(set.explanation)}`;
    })
    .join('');
}

/**
 * Review queue: captured and borderline examples rendered (images at 4×, text with unusual
 * characters marked), decided one by one or in a batch with the governance review
 * functions, which record the reviewer and audit each decision. Keyboard: j/k move, a/b/r
 * pick attack/benign/relabel and jump to the reason, x ticks an item for the batch.
 */
import {
  REVIEW_STATUSES,
  CAPTURE_SOURCES,
  listReview,
  showReview,
  type CaptureRecord,
  type CapturedInput,
  type CaptureSource,
  type ReviewStatus,
} from '../../governance/index.js';
import { imageDataUri } from '../../report/html/png.js';
import { textDiffHtml } from '../../report/html/text-diff.js';
import type { ConsoleDeps, PageRequest } from '../context.js';
import { canReview } from '../context.js';
import { escapeHtml, html, query, raw, short, type SafeHtml } from '../html.js';
import { csrfField, page } from '../layout.js';

const PER_PAGE = 25;
const MAX_PIXELS = 512 * 512 * 3;

/** Characters a text attack plants (invisible, non-ASCII look-alikes) marked so a reviewer sees them. */
export function markedText(text: string): SafeHtml {
  let out = '';
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    if (code >= 0x20 && code < 0x7f) out += escapeHtml(ch);
    else if (ch === '\n') out += '<br>';
    else
      out += `<mark title="U+${code.toString(16).toUpperCase().padStart(4, '0')}">${code < 0x20 || (code >= 0x200b && code <= 0x200f) || code === 0xfeff ? `⟨U+${code.toString(16).toUpperCase().padStart(4, '0')}⟩` : escapeHtml(ch)}</mark>`;
  }
  return raw(out);
}

export function renderInput(input: CapturedInput, item: CaptureRecord): SafeHtml {
  if (input.kind === 'text') {
    const original = item.note.original;
    if (typeof original === 'string')
      return html`<p class="diff">${raw(textDiffHtml({ original, adversarial: input.text, changes: [] }))}</p>`;
    return html`<p>${markedText(input.text.slice(0, 5000))}</p>`;
  }
  if (input.x.length > MAX_PIXELS) return html`<p class="muted">Image too large to show (${input.x.length} values).</p>`;
  const shape = input.shape.length === 1 ? [1, input.shape[0] as number] : input.shape;
  const values = Array.from(input.x, (v) => Math.min(1, Math.max(0, v)));
  return html`<img
    class="pixelated"
    src="${imageDataUri(values, shape, { min: 0, max: 1 })}"
    alt="Captured input ${item.id}, predicted ${String(item.predicted)}"
  />`;
}

export function reviewPage(deps: ConsoleDeps, req: PageRequest): SafeHtml {
  const status = (REVIEW_STATUSES as readonly string[]).includes(req.query.status ?? '') ? (req.query.status as ReviewStatus) : 'pending';
  const source = (CAPTURE_SOURCES as readonly string[]).includes(req.query.source ?? '') ? (req.query.source as CaptureSource) : undefined;
  const afterRaw = Number.parseInt(req.query.after ?? '0', 10);
  const after = Number.isSafeInteger(afterRaw) && afterRaw > 0 ? afterRaw : 0;
  const items = listReview(deps.gov, { status, ...(source ? { source } : {}), afterSeq: after, limit: PER_PAGE + 1 });
  const shown = items.slice(0, PER_PAGE);
  const reviewer = canReview(req);
  const cards = shown.map((item) => {
    const { input } = showReview(deps.gov, item.id);
    return html`<section class="review-item" aria-label="Item ${item.id}">
      <p>
        ${reviewer ? html`<input type="checkbox" name="ids" value="${item.id}" form="batch" aria-label="Select ${item.id} for the batch" /> ` : ''}
        <strong>${item.id}</strong> · ${item.source} · ${item.channel} · model ${short(item.model)} · predicted
        ${String(item.predicted ?? '—')} · label ${String(item.label ?? '—')} · threat ${item.threat ?? '—'} ·
        ${item.at.slice(0, 19).replace('T', ' ')}
      </p>
      ${renderInput(input, item)}
      ${item.decisions.length > 0 ? html`<p class="muted">Layers: ${item.decisions.map((d) => `${d.layer} ${d.decision}${d.score === null ? '' : ` ${d.score.toFixed(3)}`}`).join('; ')}</p>` : ''}
      ${
        item.review.status !== 'pending'
          ? html`<p>
              Decided <strong>${item.review.status}</strong> (label ${String(item.review.trueLabel ?? '—')}) by
              ${item.review.reviewer ?? '—'}: ${item.review.reason ?? ''}
            </p>`
          : ''
      }
      ${
        reviewer
          ? html`<form method="post" action="/review/${item.id}/decide" class="inline decide" aria-label="Decide ${item.id}">
              ${csrfField(req.csrf)}
              <label
                >Verdict
                <select name="verdict">
                  <option value="attack">attack</option>
                  <option value="benign">benign</option>
                  <option value="relabel">relabel</option>
                </select></label
              >
              <label
                >True label
                <input
                  name="label"
                  type="number"
                  min="0"
                  max="100000"
                  value="${String(item.label ?? item.predicted ?? '')}"
                  style="width: 6em"
              /></label>
              <label>Reason <input name="reason" required maxlength="2000" size="30" /></label><button type="submit">Decide</button>
            </form>`
          : ''
      }
    </section>`;
  });
  const next = items.length > PER_PAGE ? shown.at(-1)?.seq : undefined;
  const body = html`${req.flash ? html`<p class="notice" role="status">${req.flash}</p>` : ''}
    <nav class="filters" aria-label="Review status">
      ${REVIEW_STATUSES.map((s) =>
        s === status ? html`<strong aria-current="true">${s}</strong>` : html`<a href="/review${query({ status: s, source })}">${s}</a>`,
      )}
    </nav>
    <p class="muted">
      Keys: <kbd>j</kbd>/<kbd>k</kbd> next/previous, <kbd>a</kbd> attack, <kbd>b</kbd> benign, <kbd>r</kbd> relabel (then type the reason
      and press Enter), <kbd>x</kbd> select for the batch.
    </p>
    ${
      reviewer && shown.length > 0
        ? html`<form id="batch" method="post" action="/review/batch" class="inline" aria-label="Batch decision">
            ${csrfField(req.csrf)}
            <label
              >Selected items are
              <select name="verdict">
                <option value="benign">benign</option>
                <option value="attack">attack (their labels)</option>
              </select></label
            >
            <label>Reason <input name="reason" required maxlength="2000" size="30" /></label><button type="submit">Decide selected</button>
          </form>`
        : ''
    }
    ${shown.length === 0 ? html`<p class="empty">Nothing ${status} in the queue.</p>` : cards}
    ${next !== undefined ? html`<nav class="pager" aria-label="Pages"><a href="/review${query({ status, source, after: next })}" rel="next">More →</a></nav>` : ''}`;
  return page({ title: 'Review queue', path: req.path, principal: req.principal, csrf: req.csrf }, body);
}

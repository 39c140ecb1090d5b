/** Models: the list, and per model its lineage graph, tag history, and promote / rollback (admin). */
import type { ConsoleDeps, PageRequest } from '../context.js';
import { canChange } from '../context.js';
import { tagsByDigest } from '../evaluations.js';
import { html, query, raw, short, type SafeHtml } from '../html.js';
import { csrfField, page, table } from '../layout.js';
import { lineageSvg } from '../lineage-svg.js';

const PER_PAGE = 50;

export function modelsPage(deps: ConsoleDeps, req: PageRequest): SafeHtml {
  const pageNo = Math.max(1, Number.parseInt(req.query.page ?? '1', 10) || 1);
  const { rows, total } = deps.read.models((pageNo - 1) * PER_PAGE, PER_PAGE);
  const tags = tagsByDigest(deps.gov);
  const body = html`${table(
      `Models, newest first (${total})`,
      ['Model', 'Digest', 'Tags', 'Registered'],
      rows.map((m) => [
        html`<a href="/models/${m.digest}">${m.name}</a>`,
        short(m.digest),
        (tags.get(m.digest) ?? []).join(', ') || '—',
        m.createdAt.slice(0, 16),
      ]),
      'No models yet.',
    )}
    <nav class="pager" aria-label="Pages">
      ${pageNo > 1 ? html`<a href="/models${query({ page: pageNo - 1 })}">← Newer</a>` : ''}
      ${pageNo * PER_PAGE < total ? html`<a href="/models${query({ page: pageNo + 1 })}">Older →</a>` : ''}
    </nav>
    ${tagHistory(deps, undefined)}`;
  return page({ title: 'Models', path: req.path, principal: req.principal, csrf: req.csrf }, body);
}

function tagHistory(deps: ConsoleDeps, digest: string | undefined): SafeHtml {
  const events = deps.gov.registry
    .tagHistory()
    .filter((e) => digest === undefined || e.digest === digest || e.previousDigest === digest)
    .slice(-100)
    .reverse();
  return table(
    'Tag history (newest first)',
    ['When', 'Tag', 'Action', 'From', 'To', 'By', 'Reason'],
    events.map((e) => [
      e.at.slice(0, 19).replace('T', ' '),
      e.tag,
      e.action,
      short(e.previousDigest),
      short(e.digest),
      e.actor,
      e.reason ?? '—',
    ]),
    'No tag moves yet.',
  );
}

export function modelPage(deps: ConsoleDeps, req: PageRequest, ref: string): SafeHtml {
  const { registry } = deps.gov;
  const model = registry.get(ref);
  const tags = registry.tags();
  const here = Object.entries(tags)
    .filter(([, d]) => d === model.digest)
    .map(([t]) => t);
  const admin = canChange(req);
  const promote = admin
    ? html`<form method="post" action="/models/${model.digest}/promote" class="inline" aria-label="Promote">
        ${csrfField(req.csrf)}
        <label
          >Tag
          <select name="tag">
            ${['production', 'candidate', ...Object.keys(tags).filter((t) => t !== 'production' && t !== 'candidate')].map((t) => html`<option>${t}</option>`)}
          </select></label
        >
        <label>Reason <input name="reason" required maxlength="500" size="40" /></label>
        ${Object.entries(tags).map(([t, d]) => html`<input type="hidden" name="from.${t}" value="${d}" />`)}
        <button type="submit">Promote</button>
      </form>`
    : html`<p class="muted">Promotion and rollback need the admin role.</p>`;
  const rollbacks = admin
    ? here
        .filter((t) => registry.previous(t) !== undefined)
        .map(
          (t) =>
            html`<form method="post" action="/tags/${t}/rollback" class="inline" aria-label="Roll back ${t}">
              ${csrfField(req.csrf)} <input type="hidden" name="from" value="${model.digest}" /><label
                >Reason <input name="reason" required maxlength="500" size="40"
              /></label>
              <button type="submit">Roll back ${t} to ${short(registry.previous(t))}</button>
            </form>`,
        )
    : [];
  const body = html`${req.flash ? html`<p class="notice" role="status">${req.flash}</p>` : ''}
    <p><a href="/models">← All models</a> · <span class="muted">${model.digest}</span> · tags: ${here.join(', ') || 'none'}</p>
    <h2>Lineage</h2>
    <div class="chart">${raw(lineageSvg(registry.lineage(model.digest, { depth: 3 })))}</div>
    <h2>Promote or roll back</h2>
    ${promote} ${rollbacks} ${tagHistory(deps, model.digest)}`;
  return page({ title: `Model ${model.name}`, path: '/models', principal: req.principal, csrf: req.csrf }, body);
}

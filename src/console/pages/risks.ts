/** Risks and vulnerabilities: sortable by residual risk, status changes with a reason (admin), and each vulnerability's evidence. */
import { RISK_STATUSES, VULN_STATUSES, type Risk, type Vulnerability } from '../../governance/index.js';
import { textDiffHtml } from '../../report/html/text-diff.js';
import type { ConsoleDeps, PageRequest } from '../context.js';
import { canChange } from '../context.js';
import { html, pct, query, raw, short, type SafeHtml } from '../html.js';
import { csrfField, page } from '../layout.js';
import { showReview } from '../../governance/index.js';
import { renderInput } from './review.js';

const SORTS: Record<string, (a: Risk, b: Risk) => number> = {
  residual: (a, b) => b.residualScore - a.residualScore,
  inherent: (a, b) => b.inherentScore - a.inherentScore,
  title: (a, b) => a.title.localeCompare(b.title),
  status: (a, b) => a.status.localeCompare(b.status),
};

export function risksPage(deps: ConsoleDeps, req: PageRequest): SafeHtml {
  const sort = req.query.sort && req.query.sort in SORTS ? req.query.sort : 'residual';
  const desc = req.query.dir !== 'asc';
  const risks = deps.gov.risks.list().sort(SORTS[sort]);
  if (!desc) risks.reverse();
  const admin = canChange(req);
  const th = (key: string, label: string): SafeHtml => {
    const current = key === sort;
    const next = current && desc ? 'asc' : 'desc';
    const aria = current ? (desc ? 'descending' : 'ascending') : 'none';
    return html`<th scope="col" aria-sort="${aria}">
      <a href="/risks${query({ sort: key, dir: next })}">${label}${current ? (desc ? ' ▼' : ' ▲') : ''}</a>
    </th>`;
  };
  const riskRows = risks.map(
    (r) =>
      html`<tr>
        <td>${r.id}</td>
        <td>${r.title}</td>
        <td>${r.threatId ?? '—'}</td>
        <td>${r.inherentScore} (${r.inherentBand})</td>
        <td>${r.residualScore.toFixed(1)} (${r.residualBand})</td>
        <td>${r.measuredSuccess === null ? '—' : pct(r.measuredSuccess)}</td>
        <td>${r.owner}</td>
        <td>${admin ? statusForm(`/risks/${r.id}/status`, req.csrf, RISK_STATUSES, r.status, `Status of ${r.id}`) : r.status}</td>
      </tr>`,
  );
  const vulns = deps.gov.vulnerabilities.list();
  const body = html`${req.flash ? html`<p class="notice" role="status">${req.flash}</p>` : ''}
    <table>
      <caption>
        Risk register (${risks.length})
      </caption>
      <thead>
        <tr>
          <th scope="col">Id</th>
          ${th('title', 'Title')}
          <th scope="col">Threat</th>
          ${th('inherent', 'Inherent')}${th('residual', 'Residual')}
          <th scope="col">Measured attack success</th>
          <th scope="col">Owner</th>
          ${th('status', 'Status')}
        </tr>
      </thead>
      <tbody>
        ${riskRows}
      </tbody>
    </table>
    <h2 id="vulnerabilities">Vulnerabilities (${vulns.length})</h2>
    ${vulns.length === 0 ? html`<p class="empty">No vulnerabilities filed.</p>` : vulns.map((v) => vulnerabilitySection(v, req.csrf, admin, reportOf(deps, v.evaluationDigest), examplesOf(deps, v.evaluationDigest)))}`;
  return page({ title: 'Risks & vulnerabilities', path: req.path, principal: req.principal, csrf: req.csrf }, body);
}

function statusForm(action: string, csrf: string, statuses: readonly string[], current: string, label: string): SafeHtml {
  return html`<form method="post" action="${action}" class="inline" aria-label="${label}">
    ${csrfField(csrf)}
    <select name="status" aria-label="${label}">
      ${statuses.map((s) => html`<option${s === current ? html` selected` : ''}>${s}</option>`)}
    </select>
    <input name="reason" required maxlength="500" placeholder="reason" aria-label="Reason" /><button type="submit">Change</button>
  </form>`;
}

const IMAGE = /^data:image\/(png|jpeg);base64,[A-Za-z0-9+/=]+$/;

/** One evidence cell: an image data URL becomes an image, anything else text. */
function evidenceCell(value: string | number | boolean | null): SafeHtml {
  if (typeof value === 'string' && IMAGE.test(value) && value.length < 2_000_000)
    return html`<img class="pixelated" src="${value}" alt="evidence image" />`;
  return html`${value === null ? '—' : String(value)}`;
}

/** The HTML report registered from an evaluation (it shows the adversarial examples), if any. */
function reportOf(deps: ConsoleDeps, evaluation: string | null): string | undefined {
  if (!evaluation) return undefined;
  return deps.read.childOfKind(evaluation, 'report');
}

/** The evaluation's adversarial examples queued for review (`rampart review import --evaluation`), rendered. */
function examplesOf(deps: ConsoleDeps, evaluation: string | null): SafeHtml[] {
  if (!evaluation) return [];
  return deps.read.capturesOfEvaluation(evaluation, 6).map((id) => {
    const { item, input } = showReview(deps.gov, id);
    return html`<figure class="inline-figure">
      ${renderInput(input, item)}
      <figcaption>label ${String(item.label ?? '—')} → predicted ${String(item.predicted ?? '—')}</figcaption>
    </figure>`;
  });
}

function vulnerabilitySection(v: Vulnerability, csrf: string, admin: boolean, report: string | undefined, images: SafeHtml[]): SafeHtml {
  const e = v.evidence;
  const examples = e.examples ?? [];
  const keys = [...new Set(examples.flatMap((x) => Object.keys(x)))].filter((k) => k !== 'original' && k !== 'adversarial');
  const diffs = examples.filter((x) => typeof x.original === 'string' && typeof x.adversarial === 'string');
  return html`<section class="card" aria-label="${v.id}">
    <h3>${v.id} · ${v.title}</h3>
    <p>
      Threat ${v.threatId} · severity <strong>${v.severity}</strong> · status <strong>${v.status}</strong> · owner ${v.owner} · evaluation
      ${v.evaluationDigest ? html`<a href="/runs/${v.evaluationDigest}">${short(v.evaluationDigest)}</a>` : '—'}
    </p>
    <p>
      Attack: ${v.attack}. Measured ${e.metric}
      ${typeof e.measured === 'number' && e.measured <= 1 && e.measured >= 0 ? pct(e.measured) : String(e.measured)}, required
      ${String(e.required)}.
    </p>
    ${e.explanation ? html`<p>${e.explanation.summary} <span class="muted">(${e.explanation.method})</span></p>` : ''}
    ${
      examples.length > 0 && keys.length > 0
        ? html`<table>
            <caption>
              Evidence examples
            </caption>
            <thead>
              <tr>
                ${keys.map((k) => html`<th scope="col">${k}</th>`)}
              </tr>
            </thead>
            <tbody>
              ${examples.slice(0, 20).map(
                (x) =>
                  html`<tr>
                    ${keys.map((k) => html`<td>${evidenceCell(x[k] ?? null)}</td>`)}
                  </tr>`,
              )}
            </tbody>
          </table>`
        : ''
    }
    ${diffs.slice(0, 10).map((x) => html`<p class="diff">${raw(textDiffHtml({ original: String(x.original), adversarial: String(x.adversarial), changes: [] }))}</p>`)}
    ${images.length > 0 ? html`<div class="figures" role="group" aria-label="Adversarial examples">${images}</div>` : ''}
    ${report ? html`<p><a href="/reports/${report}">Adversarial examples and full results: the run's report</a></p>` : ''}
    <p>Remediation: ${v.remediation}</p>
    ${admin ? statusForm(`/vulnerabilities/${v.id}/status`, csrf, VULN_STATUSES, v.status, `Status of ${v.id}`) : ''}
    ${admin ? html`<p class="muted">Marking verified needs a passing evaluation: give its digest as <code>eval:DIGEST</code> at the start of the reason.</p>` : ''}
  </section>`;
}

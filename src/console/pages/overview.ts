/** Overview: one headline grade per model (the weakest threat decides), intervals, gate, open vulnerabilities, tags. */
import type { ConsoleDeps, PageRequest } from '../context.js';
import { evaluationResults, tagsByDigest } from '../evaluations.js';
import { gradeOf } from '../grades.js';
import { html, pct, short, type SafeHtml } from '../html.js';
import { badge, page } from '../layout.js';

const RECENT_MODELS = 12;

export function overviewPage(deps: ConsoleDeps, req: PageRequest): SafeHtml {
  const { gov, read } = deps;
  const tags = tagsByDigest(gov);
  const models = new Map<string, string>();
  for (const digest of tags.keys()) {
    const a = gov.registry.find(digest);
    if (a?.kind === 'model') models.set(a.digest, a.name);
  }
  for (const m of read.models(0, RECENT_MODELS).rows) if (models.size < RECENT_MODELS + 4) models.set(m.digest, m.name);
  const openVulns = gov.vulnerabilities.list({ status: 'open' });
  const modelOfEvaluation = new Map<string, unknown>();
  const vulnsOf = (model: string): number =>
    openVulns.filter((v) => {
      if (!v.evaluationDigest) return false;
      if (!modelOfEvaluation.has(v.evaluationDigest))
        modelOfEvaluation.set(v.evaluationDigest, gov.registry.find(v.evaluationDigest)?.meta.model);
      return modelOfEvaluation.get(v.evaluationDigest) === model;
    }).length;

  const cards = [...models].map(([digest, name]) => {
    const evaluation = read.latestEvaluationOf(digest);
    const results = evaluation ? evaluationResults(gov, evaluation.digest) : null;
    const gate = (evaluation?.meta.threats ?? {}) as Record<string, { passed: boolean }>;
    const grade = results ? gradeOf(results, gate) : undefined;
    const passed = evaluation ? evaluation.meta.passed === true : null;
    const rows = (grade?.threats ?? []).map(
      (t) =>
        html`<tr>
          <td>${t.threat}</td>
          <td>${pct(t.robustAccuracy)}</td>
          <td>${t.rate ? `${pct(t.rate.lower)}–${pct(t.rate.upper)} (n=${t.rate.n})` : '—'}</td>
          <td>${t.passed === undefined ? '—' : badge(t.passed)}</td>
        </tr>`,
    );
    return html`<section class="card" aria-label="Model ${name}">
      <header>
        <div class="grade" aria-label="Grade ${grade?.letter ?? 'none'}">${grade?.letter ?? '—'}</div>
        <div>
          <h2><a href="/models/${digest}">${name}</a></h2>
          <div class="muted">${short(digest)} ${(tags.get(digest) ?? []).map((t) => html`<span class="badge">${t}</span> `)}</div>
        </div>
      </header>
      <p>
        Weakest threat: <strong>${grade?.weakest ?? 'none measured'}</strong> at ${pct(grade?.score)} · gate ${badge(passed)} · open
        vulnerabilities: <a href="/risks#vulnerabilities">${vulnsOf(digest)}</a>
      </p>
      ${
        rows.length > 0
          ? html`<table>
              <caption>
                Robust accuracy per threat (95% interval)
              </caption>
              <thead>
                <tr>
                  <th scope="col">Threat</th>
                  <th scope="col">Robust accuracy</th>
                  <th scope="col">95% interval</th>
                  <th scope="col">Gate</th>
                </tr>
              </thead>
              <tbody>
                ${rows}
              </tbody>
            </table>`
          : html`<p class="empty">No evaluation of this model yet.</p>`
      }
      ${evaluation ? html`<p class="muted">From run <a href="/runs/${evaluation.digest}">${evaluation.name}</a> (${evaluation.createdAt.slice(0, 16)}).</p>` : ''}
    </section>`;
  });
  const body = html`${req.flash ? html`<p class="notice" role="status">${req.flash}</p>` : ''}
    <p class="muted">The grade is the lowest robust accuracy over the model's threats: A ≥ 90%, B ≥ 80%, C ≥ 70%, D ≥ 50%, else F.</p>
    ${cards.length > 0 ? html`<div class="cards">${cards}</div>` : html`<p class="empty">No models in this registry yet; run <code>rampart run</code>.</p>`}`;
  return page({ title: 'Overview', path: req.path, principal: req.principal, csrf: req.csrf }, body);
}

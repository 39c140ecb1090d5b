/** Runs: every evaluation record with its plan, model, data and metrics; filters, pages, and compare. */
import type { Json } from '../../governance/index.js';
import type { ConsoleDeps, PageRequest } from '../context.js';
import { evaluationResults } from '../evaluations.js';
import { gradeOf } from '../grades.js';
import { html, jsonScript, pct, query, short, type SafeHtml } from '../html.js';
import { badge, page } from '../layout.js';
import type { RunFilter } from '../read-model.js';

export const RUNS_PER_PAGE = 50;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** Filters from the query string, dropping malformed dates instead of failing the page. */
export function runFilter(q: PageRequest['query']): RunFilter {
  const f: RunFilter = {};
  if (q.plan) f.plan = q.plan.slice(0, 200);
  if (q.tag) f.tag = q.tag.slice(0, 100);
  if (q.from && DATE.test(q.from)) f.from = q.from;
  if (q.to && DATE.test(q.to)) f.to = q.to;
  return f;
}

const num = (v: Json | undefined): number | undefined => (typeof v === 'number' ? v : undefined);

export function runsPage(deps: ConsoleDeps, req: PageRequest): SafeHtml {
  const filter = runFilter(req.query);
  const pageNo = Math.max(1, Math.min(100_000, Number.parseInt(req.query.page ?? '1', 10) || 1));
  const { rows, total } = deps.read.runs(filter, (pageNo - 1) * RUNS_PER_PAGE, RUNS_PER_PAGE);
  const pages = Math.max(1, Math.ceil(total / RUNS_PER_PAGE));
  const plans = deps.read.planNames();
  const tags = Object.keys(deps.gov.registry.tags());
  const link = (p: number): string => `/runs${query({ ...filter, page: p })}`;
  const body = html` <form class="filters" method="get" action="/runs" aria-label="Filter runs">
      <label
        >Plan
        <select name="plan">
          <option value="">any</option>
          ${plans.map((p) => html`<option${p === filter.plan ? html` selected` : ''}>${p}</option>`)}
        </select></label
      >
      <label
        >Tag
        <select name="tag">
          <option value="">any</option>
          ${tags.map((t) => html`<option${t === filter.tag ? html` selected` : ''}>${t}</option>`)}
        </select></label
      >
      <label>From <input type="date" name="from" value="${filter.from ?? ''}" /></label>
      <label>To <input type="date" name="to" value="${filter.to ?? ''}" /></label>
      <button type="submit">Filter</button>
    </form>
    <form method="get" action="/runs/compare" aria-label="Compare runs">
      <p class="muted">${total} runs. Tick two or more and compare them side by side. <button type="submit">Compare selected</button></p>
      <table>
        <caption>
          Runs, newest first (page ${pageNo} of ${pages})
        </caption>
        <thead>
          <tr>
            <th scope="col">Compare</th>
            <th scope="col">Run</th>
            <th scope="col">Plan</th>
            <th scope="col">Model</th>
            <th scope="col">Data</th>
            <th scope="col">Clean accuracy</th>
            <th scope="col">Worst attack success</th>
            <th scope="col">Gate</th>
            <th scope="col">When</th>
          </tr>
        </thead>
        <tbody>
          ${rows.map((r) => {
            const threats = (r.meta.threats ?? {}) as Record<string, { attackSuccessRate?: number }>;
            const worst = Math.max(-1, ...Object.values(threats).map((t) => t.attackSuccessRate ?? -1));
            const metrics = (r.meta.metrics ?? {}) as Record<string, Json>;
            return html`<tr>
              <td><input type="checkbox" name="d" value="${r.digest}" aria-label="Compare ${r.name}" /></td>
              <td><a href="/runs/${r.digest}">${r.name}</a> <span class="muted">${short(r.digest)}</span></td>
              <td>${r.plan ?? '—'}</td>
              <td>${r.model ? html`<a href="/models/${r.model}">${r.modelName}</a>` : '—'}</td>
              <td>${r.dataset ?? '—'}</td>
              <td>${pct(num(metrics.cleanAccuracy))}</td>
              <td>${worst < 0 ? '—' : pct(worst)}</td>
              <td>${badge(r.meta.passed === true)}</td>
              <td>${r.createdAt.slice(0, 16).replace('T', ' ')}</td>
            </tr>`;
          })}
        </tbody>
      </table>
    </form>
    <nav class="pager" aria-label="Pages">
      ${pageNo > 1 ? html`<a href="${link(pageNo - 1)}" rel="prev">← Newer</a>` : ''}
      ${pageNo < pages ? html`<a href="${link(pageNo + 1)}" rel="next">Older →</a>` : ''}
    </nav>`;
  return page({ title: 'Runs', path: req.path, principal: req.principal, csrf: req.csrf }, body);
}

interface Column {
  digest: string;
  name: string;
  values: Map<string, number>;
  gate: Record<string, { passed: boolean }>;
  passed: boolean;
}

/** Side by side: metrics with differences from the first run, accuracy-vs-ε curves overlaid, gate checks. */
export function comparePage(deps: ConsoleDeps, req: PageRequest, digests: readonly string[]): SafeHtml {
  const columns: Column[] = digests.slice(0, 8).map((d) => {
    const a = deps.gov.registry.get(d);
    const results = evaluationResults(deps.gov, a.digest);
    const values = new Map<string, number>();
    if (results) {
      values.set('clean accuracy', results.cleanAccuracy);
      for (const t of gradeOf(results).threats) values.set(`robust accuracy · ${t.threat}`, t.robustAccuracy);
      if (results.ece !== undefined) values.set('ECE', results.ece);
      if (results.latencyP99Ms !== undefined) values.set('latency p99 (ms)', results.latencyP99Ms);
    }
    const gate = (a.meta.threats ?? {}) as unknown as Record<string, { passed: boolean }>;
    return { digest: a.digest, name: a.name, values, gate, passed: a.meta.passed === true };
  });
  const metricNames = [...new Set(columns.flatMap((c) => [...c.values.keys()]))];
  const first = columns[0];
  const fmt = (name: string, v: number | undefined): string => (v === undefined ? '—' : name.includes('ms') ? v.toFixed(1) : pct(v));
  const cell = (name: string, c: Column): SafeHtml => {
    const v = c.values.get(name);
    const base = first?.values.get(name);
    if (c === first || v === undefined || base === undefined) return html`${fmt(name, v)}`;
    const d = v - base;
    const better = name.includes('ECE') || name.includes('ms') ? d < 0 : d > 0;
    const sign = d > 0 ? '+' : '';
    const diff = name.includes('ms') ? `${sign}${d.toFixed(1)}` : `${sign}${(100 * d).toFixed(1)} pt`;
    return html`${fmt(name, v)} <span class="${d === 0 ? 'muted' : better ? 'delta-pos' : 'delta-neg'}">(${diff})</span>`;
  };
  const threats = [...new Set(columns.flatMap((c) => Object.keys(c.gate)))];
  // One chart per norm; x is the union of every run's epsilons, a run without a point there is a gap.
  const charts: Array<{ title: string; x: number[]; series: Array<{ label: string; y: Array<number | null> }> }> = [];
  const norms = new Map<string, Array<{ label: string; points: Map<number, number> }>>();
  for (const c of columns) {
    for (const curve of evaluationResults(deps.gov, c.digest)?.curves ?? []) {
      const list = norms.get(curve.norm) ?? [];
      list.push({ label: `${c.name} ${short(c.digest)}`, points: new Map(curve.points.map((p) => [p.epsilon, p.robustAccuracy])) });
      norms.set(curve.norm, list);
    }
  }
  for (const [norm, list] of norms) {
    const x = [...new Set(list.flatMap((s) => [...s.points.keys()]))].sort((a, b) => a - b);
    charts.push({
      title: `Robust accuracy vs ε (${norm})`,
      x,
      series: list.map((s) => ({ label: s.label, y: x.map((e) => s.points.get(e) ?? null) })),
    });
  }
  const body = html` <p><a href="/runs">← All runs</a></p>
    <table>
      <caption>
        Metrics (differences against the first run)
      </caption>
      <thead>
        <tr>
          <th scope="col">Metric</th>
          ${columns.map((c) => html`<th scope="col"><a href="/runs/${c.digest}">${c.name}</a><br /><span class="muted">${short(c.digest)}</span></th>`)}
        </tr>
      </thead>
      <tbody>
        ${metricNames.map(
          (m) =>
            html`<tr>
              <th scope="row">${m}</th>
              ${columns.map((c) => html`<td>${cell(m, c)}</td>`)}
            </tr>`,
        )}
      </tbody>
    </table>
    <table>
      <caption>
        Gate checks
      </caption>
      <thead>
        <tr>
          <th scope="col">Check</th>
          ${columns.map((c) => html`<th scope="col">${c.name}</th>`)}
        </tr>
      </thead>
      <tbody>
        <tr>
          <th scope="row">overall</th>
          ${columns.map((c) => html`<td>${badge(c.passed)}</td>`)}
        </tr>
        ${threats.map(
          (t) =>
            html`<tr>
              <th scope="row">${t}</th>
              ${columns.map((c) => html`<td>${c.gate[t] ? badge(c.gate[t].passed) : '—'}</td>`)}
            </tr>`,
        )}
      </tbody>
    </table>
    <h2>Accuracy against perturbation size</h2>
    ${charts.length === 0 ? html`<p class="empty">These runs stored no accuracy-vs-ε curves.</p>` : charts.map((_c, i) => html`<div class="chart" data-chart="curves-${i}"></div>`)}
    ${jsonScript(
      'chart-data',
      charts.map((c, i) => ({ id: `curves-${i}`, title: c.title, x: c.x, series: c.series, yLabel: 'robust accuracy', xLabel: 'ε' })),
    )}`;
  return page(
    {
      title: columns.length === 1 ? `Run ${columns[0]?.name ?? ''}` : 'Compare runs',
      path: '/runs',
      principal: req.principal,
      csrf: req.csrf,
      charts: true,
    },
    body,
  );
}

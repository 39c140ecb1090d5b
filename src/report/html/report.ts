/**
 * The run report as one self-contained HTML file: inline CSS, inline SVG plots and PNG
 * data URIs, no scripts and no external assets, so it can be attached to a ticket or
 * archived in the registry and still render the same in ten years. Every piece of text
 * that came from a plan, a model or an attack is escaped.
 */
import type { GateResult } from '../../eval/gate.js';
import type { AdversarialExampleSet } from '../../eval/adversarial-examples.js';
import type { EvaluationResults } from '../../eval/results.js';
import { formatRate, type Rate } from '../../eval/rate.js';
import { linePlot, type LineSeries } from '../svg/line-plot.js';
import { reliabilityDiagram, type ReliabilityBinData } from '../svg/reliability.js';
import { escapeHtml as esc } from '../svg/escape.js';
import { imageDataUri, perturbationDataUri } from './png.js';
import { textAttackSection, type TextAttackSet } from './text-diff.js';
import { exampleAttributionRow, explanationSummary } from './explanation.js';
import { maskingSection, methodLine, rateCell, UPPER_BOUND_LABEL } from './evidence.js';
import { threatDetailsHtml } from '../threat-details.js';

export interface RiskRow {
  threat: string;
  channel: string;
  technique: string;
  description?: string;
  likelihood: string;
  impact: string;
  /** likelihood × impact on the 5 × 5 matrix. */
  inherent: number;
  /** inherent × measured attack success, or null when unmeasured. */
  residual: number | null;
  /** The measured attack success rate with its 95% interval, when measured. */
  attackSuccess?: Rate;
  band: string;
  owner: string;
  measured?: number;
  required?: number;
  status: 'meets criterion' | 'below criterion' | 'not measured' | 'no criterion';
  /** A governance risk id, when the register is kept in governance. */
  riskId?: string;
}

export interface ModelSummary {
  /** e.g. `baseline`, `hardened`. */
  name: string;
  results: EvaluationResults;
  training?: { method: string; epochs: number; testAccuracy: number; trainingMs: number; selection?: string };
}

export interface HtmlReportData {
  title: string;
  planName: string;
  description?: string;
  createdAt: string;
  data?: { name: string; sha256: string; evaluationCount: number };
  /** Baseline first, candidate last: the curves and tables follow this order. */
  models: ModelSummary[];
  reliability: { model: string; bins: ReliabilityBinData[]; ece?: number }[];
  examples: AdversarialExampleSet[];
  textAttacks: TextAttackSet[];
  risks: RiskRow[];
  /** Required robust accuracy per threat id, drawn on the curves. */
  robustCriteria?: Record<string, number>;
  /** Threat ids per norm with their epsilon, to label curve points. */
  threatEpsilons?: { id: string; norm: string; epsilon: number }[];
  /** Every threat id, in the plan's order: the model table's columns (default: the ids of `threatEpsilons`). */
  threatIds?: string[];
  /** The plan's channels: sections of a channel the plan lacks are left out (default: every section). */
  channels?: readonly ('image' | 'text' | 'tabular')[];
  gate?: GateResult;
  /** The plan's rollout phases, shown with the verdict. */
  rollout?: { name: string; traffic: number; duration?: string }[];
  stages?: { id: string; title: string; status: string; ranForMs: number }[];
  /** Things the reader must know (unwired stages, unmeasured threats...). */
  notes?: string[];
}

const CSS = `
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d1d1f;background:#f6f6f7}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:32px 0 10px;border-bottom:1px solid #ddd;padding-bottom:4px}h3{font-size:15px;margin:18px 0 6px}
section{background:#fff;border:1px solid #e2e2e2;border-radius:8px;padding:4px 18px 16px;margin-bottom:18px}
table{border-collapse:collapse;width:100%;font-size:13px;margin:8px 0}th,td{border-bottom:1px solid #eee;padding:5px 8px;text-align:left;vertical-align:top}th{background:#fafafa;font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.muted{color:#777}.ok{color:#1e7e34}.bad{color:#b02a1a}.skip{color:#8a6d00}
.verdict{display:inline-block;font-size:20px;font-weight:700;padding:6px 16px;border-radius:6px;margin:10px 0}
.verdict.pass{background:#e3f4e8;color:#1e7e34;border:1px solid #9fd3ae}.verdict.fail{background:#fbe7e4;color:#b02a1a;border:1px solid #eeaaa0}
.plots{display:flex;flex-wrap:wrap;gap:12px}.plots svg{border:1px solid #eee;border-radius:4px;max-width:100%;height:auto}
.grid{font-size:0}
figure.ex{display:inline-block;width:196px;margin:0 8px 8px 0;vertical-align:top;border:1px solid #eee;border-radius:6px;padding:6px;text-align:center;font-size:12px}
figure.ex img{width:56px;height:56px;image-rendering:pixelated;border:1px solid #ddd}
figure.ex .row{white-space:nowrap}figure.ex .row>div{display:inline-block;margin:0 3px}figure.ex .cap{font-size:10px;color:#777}
.band-low{background:#e3f4e8}.band-medium{background:#fff5cc}.band-high{background:#ffe0c2}.band-critical{background:#fbd0ca}
td.diff{max-width:520px;line-height:1.5}del{background:#fbd0ca;text-decoration:line-through}ins{background:#d2f1da;text-decoration:none}
.explain{display:flex;gap:12px;align-items:flex-start;font-size:13px}.explain img{width:112px;height:112px;image-rendering:pixelated;border:1px solid #ddd}
.zw{font-size:10px;color:#b02a1a}ul.changes{margin:0;padding-left:16px}
code{font-family:ui-monospace,Menlo,monospace;font-size:12px}
`;

const pct = (v: number | undefined | null): string => (v === undefined || v === null ? '–' : `${(v * 100).toFixed(1)}%`);

function gateSection(gate: GateResult | undefined): string {
  if (!gate) return '<p class="muted">The gate did not run.</p>';
  const rows = gate.checks
    .map((c) => {
      const cls = c.status === 'passed' ? 'ok' : c.status === 'skipped' ? 'skip' : 'bad';
      const measured =
        c.measured === null
          ? '–'
          : c.id === 'latency-p99'
            ? `${c.measured.toFixed(2)} ms`
            : c.id === 'ece'
              ? c.measured.toFixed(4)
              : c.id.startsWith('masking')
                ? `${c.measured} failed`
                : pct(c.measured);
      const interval = c.interval
        ? `<br><span class="muted">95% CI ${pct(c.interval.lower)}–${pct(c.interval.upper)}, n=${c.interval.n}</span>`
        : '';
      const status =
        c.warnings && c.warnings.length > 0
          ? `${esc(c.status)}, <span class="skip">${c.warnings.length} warning${c.warnings.length > 1 ? 's' : ''}</span>`
          : esc(c.status);
      return `<tr><td><code>${esc(c.id)}</code></td><td>${esc(c.criterion)}</td><td class="num">${esc(measured)}${interval}</td><td class="${cls}">${status}</td><td>${esc(c.message)}</td></tr>`;
    })
    .join('');
  const failed = gate.checks.filter((c) => c.status === 'failed').length;
  return `<div class="verdict ${gate.passed ? 'pass' : 'fail'}">${gate.passed ? 'PASSED' : 'FAILED'}</div>
<p>${gate.checks.length - failed} of ${gate.checks.length} checks passed${gate.comparedWith ? `; compared with production model <code>${esc(gate.comparedWith)}</code>` : '; no production model to compare with'}.</p>
<table><thead><tr><th>check</th><th>criterion</th><th class="num">measured</th><th>result</th><th>detail</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function rolloutLine(data: HtmlReportData): string {
  if (!data.rollout || data.rollout.length === 0) return '';
  const phases = data.rollout
    .map(
      (p) =>
        `${esc(p.name)} (${(p.traffic * 100).toFixed(p.traffic < 0.01 && p.traffic > 0 ? 1 : 0)}% of traffic${p.duration ? `, ${esc(p.duration)}` : ''})`,
    )
    .join(' → ');
  return `<p>${data.gate?.passed ? 'Rollout plan' : 'Rollout plan (blocked until the gate passes)'}: ${phases}</p>`;
}

function summaryTable(models: ModelSummary[], threats: { id: string }[]): string {
  const ids = threats.map((t) => t.id);
  const certified = [...new Set(models.flatMap((m) => Object.keys(m.results.certifiedAccuracy ?? {})))];
  const head = `<tr><th>model</th><th>training</th><th class="num">clean</th>${ids.map((id) => `<th class="num">${esc(id)}</th>`).join('')}${certified.map((id) => `<th class="num">certified ${esc(id)}</th>`).join('')}<th class="num">ECE</th><th class="num">latency p99</th></tr>`;
  const rows = models
    .map((m) => {
      const t = m.training;
      const training = t
        ? `${esc(t.method)}, ${t.epochs} epochs, ${(t.trainingMs / 1000).toFixed(0)} s${t.selection === 'best-robust' ? ' (best-robust epoch)' : ''}`
        : '';
      const r = m.results;
      const upper = r.method?.upperBound === true;
      const robust = ids
        .map((id) =>
          rateCell(r.robustAccuracy[id], r.rates?.robust[id], upper && r.unmeasured[id] === undefined && r.rates?.robust[id] !== undefined),
        )
        .join('');
      const cert = certified.map((id) => rateCell(r.certifiedAccuracy?.[id], r.rates?.certified?.[id])).join('');
      return `<tr><td><strong>${esc(m.name)}</strong><br><span class="muted"><code>${esc((m.results.model.sha256 ?? '').slice(0, 12))}</code></span></td><td>${training}</td>${rateCell(r.cleanAccuracy, r.rates?.clean)}${robust}${cert}<td class="num">${m.results.ece === undefined ? '–' : `${m.results.ece.toFixed(4)}${m.results.temperature !== undefined && m.results.temperature !== 1 ? ` (T=${m.results.temperature.toFixed(2)})` : ''}`}</td><td class="num">${m.results.latencyP99Ms === undefined ? '–' : `${m.results.latencyP99Ms.toFixed(2)} ms`}</td></tr>`;
    })
    .join('');
  const methods = models.map((m) => methodLine(m.name, m.results)).join('');
  return `<table><thead>${head}</thead><tbody>${rows}</tbody></table>${methods ? `<ul class="muted">${methods}</ul>` : ''}`;
}

function curvePlots(data: HtmlReportData): string {
  const norms = [...new Set(data.models.flatMap((m) => m.results.curves.map((c) => c.norm)))];
  if (norms.length === 0) return '<p class="muted">No image threats were evaluated.</p>';
  const colors = ['#c0392b', '#1f6fb2', '#2e8b57', '#8e44ad'];
  return `<div class="plots">${norms
    .map((norm) => {
      const series: LineSeries[] = data.models.map((m, i) => ({
        name: m.name,
        color: data.models.length === 2 ? (i === 0 ? '#c0392b' : '#1f6fb2') : colors[i % colors.length],
        points: (m.results.curves.find((c) => c.norm === norm)?.points ?? []).map((p) => ({ x: p.epsilon, y: p.robustAccuracy })),
      }));
      const required = (data.threatEpsilons ?? [])
        .filter((t) => t.norm === norm && data.robustCriteria?.[t.id] !== undefined)
        .map((t) => ({ x: t.epsilon, y: data.robustCriteria?.[t.id] as number }));
      if (required.length > 0) series.push({ name: 'gate minimum', color: '#888888', dashed: true, points: required });
      const label = norm === 'linf' ? 'L∞' : norm === 'l2' ? 'L2' : norm;
      const upper = data.models.some((m) => m.results.method?.upperBound === true) ? ` — ${UPPER_BOUND_LABEL}` : '';
      return linePlot({
        title: `Robust accuracy vs ${label} ε (worst case over attacks)${upper}`,
        xLabel: `ε (${label})`,
        yLabel: 'accuracy',
        series,
      });
    })
    .join('')}</div>`;
}

function reliabilitySection(data: HtmlReportData): string {
  if (data.reliability.length === 0) return '<p class="muted">Calibration was not measured in this run.</p>';
  return `<div class="plots">${data.reliability.map((r) => reliabilityDiagram({ title: `Reliability: ${r.model}`, bins: r.bins, ...(r.ece === undefined ? {} : { ece: r.ece }) })).join('')}</div>`;
}

function examplesSection(sets: AdversarialExampleSet[]): string {
  if (sets.length === 0) return '<p class="muted">No adversarial examples were recorded.</p>';
  return sets
    .map((set) => {
      const scale = Math.max(1e-6, ...set.items.flatMap((it) => it.adversarial.map((v, k) => Math.abs(v - (it.clean[k] ?? 0)))));
      const figures = set.items
        .map((it) => {
          const delta = it.adversarial.map((v, k) => v - (it.clean[k] ?? 0));
          const fooled = it.adversarialPrediction !== it.label;
          return `<figure class="ex"><div class="row"><div><img alt="clean" src="${imageDataUri(it.clean, set.shape, set.bounds)}"><div class="cap">clean</div></div><div><img alt="adversarial" src="${imageDataUri(it.adversarial, set.shape, set.bounds)}"><div class="cap">adversarial</div></div><div><img alt="perturbation" src="${perturbationDataUri(delta, set.shape, scale)}"><div class="cap">perturbation</div></div></div>${exampleAttributionRow(it, set.shape)}<figcaption>label ${it.label} · clean → ${it.cleanPrediction} · adv → <strong class="${fooled ? 'bad' : 'ok'}">${it.adversarialPrediction}</strong></figcaption></figure>`;
        })
        .join('');
      const broken = set.items.filter((it) => it.adversarialPrediction !== it.label).length;
      return `<h3>${esc(set.model)} <span class="muted">under ${esc(set.attack)} at ${esc(set.threat)}: ${broken} of ${set.items.length} misclassified; perturbation colour scale ±${scale.toFixed(3)} (red up, blue down)</span></h3><div class="grid">${figures}</div>${explanationSummary(set)}`;
    })
    .join('');
}

function riskSection(risks: RiskRow[], upperBound: boolean): string {
  if (risks.length === 0) return '<p class="muted">No threats in the plan.</p>';
  const rows = risks
    .map(
      (r) =>
        `<tr><td>${r.riskId ? `<code>${esc(r.riskId)}</code><br>` : ''}<strong>${esc(r.threat)}</strong>${r.description ? `<br><span class="muted">${esc(r.description)}</span>` : ''}</td><td>${esc(r.channel)} / ${esc(r.technique)}</td><td>${esc(r.likelihood)}</td><td>${esc(r.impact)}</td><td class="num">${r.inherent}</td><td class="num band-${esc(r.band)}">${r.residual === null ? '–' : r.residual.toFixed(1)} (${esc(r.band)})${r.attackSuccess ? `<br><span class="muted">attack success ${esc(formatRate(r.attackSuccess))}</span>` : ''}</td><td class="num">${pct(r.measured)}${upperBound && r.channel === 'image' && r.measured !== undefined ? `<br><span class="skip">${UPPER_BOUND_LABEL}</span>` : ''}</td><td class="num">${pct(r.required)}</td><td class="${r.status === 'meets criterion' ? 'ok' : r.status === 'below criterion' || r.status === 'not measured' ? 'bad' : 'muted'}">${esc(r.status)}</td><td>${esc(r.owner)}</td></tr>`,
    )
    .join('');
  return `<table><thead><tr><th>threat</th><th>channel / technique</th><th>likelihood</th><th>impact</th><th class="num">inherent</th><th class="num">residual</th><th class="num">robust acc.</th><th class="num">required</th><th>status</th><th>owner</th></tr></thead><tbody>${rows}</tbody></table>
<p class="muted">Inherent risk = likelihood × impact on a 5 × 5 scale; residual = inherent × measured attack success rate on the hardened model (1 − robust/clean accuracy); unmeasured threats keep their inherent score.</p>`;
}

function stagesSection(stages: HtmlReportData['stages']): string {
  if (!stages || stages.length === 0) return '';
  const rows = stages
    .map(
      (s) =>
        `<tr><td><code>${esc(s.id)}</code></td><td>${esc(s.title)}</td><td>${esc(s.status)}</td><td class="num">${(s.ranForMs / 1000).toFixed(1)} s</td></tr>`,
    )
    .join('');
  return `<section><h2>Stages</h2><table><thead><tr><th>stage</th><th>what</th><th>this run</th><th class="num">time when run</th></tr></thead><tbody>${rows}</tbody></table></section>`;
}

/**
 * Renders the report.
 *
 * @example await writeTextFile('report.html', renderHtmlReport(data));
 */
export function renderHtmlReport(data: HtmlReportData): string {
  const threatIds = (data.threatIds ?? (data.threatEpsilons ?? []).map((t) => t.id)).map((id) => ({ id }));
  const has = (channel: 'image' | 'text' | 'tabular'): boolean => data.channels === undefined || data.channels.includes(channel);
  const image = has('image');
  const notes = (data.notes ?? []).map((n) => `<li>${esc(n)}</li>`).join('');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(data.title)}</title><style>${CSS}</style></head>
<body><main>
<h1>${esc(data.title)}</h1>
<p class="muted">Plan <code>${esc(data.planName)}</code> · ${esc(data.createdAt)}${data.data ? ` · data <code>${esc(data.data.name)}</code> (<code>${esc(data.data.sha256.slice(0, 12))}</code>), ${data.data.evaluationCount} evaluation examples` : ''}</p>
${data.description ? `<p>${esc(data.description)}</p>` : ''}
<section><h2>Gate verdict</h2>${gateSection(data.gate)}${rolloutLine(data)}</section>
<section><h2>Models</h2>${summaryTable(data.models, threatIds)}</section>
${image ? `<section><h2>Accuracy against ε</h2>${curvePlots(data)}</section>` : ''}
${image ? `<section><h2>Gradient-masking checks</h2>${maskingSection(data.models)}</section>` : ''}
${image && threatDetailsHtml(data.models) ? `<section><h2>Threat details and defended stack</h2>${threatDetailsHtml(data.models)}</section>` : ''}
${image || has('tabular') ? `<section><h2>Calibration</h2>${reliabilitySection(data)}</section>` : ''}
${image ? `<section><h2>Adversarial examples</h2>${examplesSection(data.examples)}</section>` : ''}
${has('text') ? `<section><h2>Text attacks</h2>${textAttackSection(data.textAttacks)}</section>` : ''}
<section><h2>Risk register</h2>${riskSection(data.risks, data.models.at(-1)?.results.method?.upperBound === true)}</section>
${stagesSection(data.stages)}
${notes ? `<section><h2>Notes</h2><ul>${notes}</ul></section>` : ''}
<p class="muted">Generated by Rampart. Self-contained: no scripts, no external assets.</p>
</main></body></html>
`;
}

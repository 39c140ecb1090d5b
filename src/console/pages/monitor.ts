/** Monitor: drift per signal (drifting first), anomaly rate, canary accuracy, denials and rollouts, from the stored snapshots. */
import type { MetricsSnapshot } from '../../serve/snapshots.js';
import type { ConsoleDeps, PageRequest } from '../context.js';
import { html, jsonScript, query, short, type SafeHtml } from '../html.js';
import { page, table } from '../layout.js';

const RANGES: Record<string, number> = { '1h': 3600_000, '24h': 86_400_000, '7d': 7 * 86_400_000, '30d': 30 * 86_400_000 };
const PSI_ALERT = 0.25;

/** Per-interval increments of a running total; a drop means the server restarted, so the value itself is the increment. */
function increments(values: number[]): number[] {
  return values.map((v, i) => (i === 0 ? 0 : v >= (values[i - 1] as number) ? v - (values[i - 1] as number) : v));
}

export function monitorPage(deps: ConsoleDeps, req: PageRequest): SafeHtml {
  const range = req.query.range && req.query.range in RANGES ? req.query.range : '24h';
  const since = new Date(Date.now() - (RANGES[range] as number)).toISOString();
  const snaps: MetricsSnapshot[] = deps.snapshots.list({ since, limit: 5000 });
  const x = snaps.map((s) => Date.parse(s.at) / 1000);
  const last = snaps.at(-1);
  const signals = [...new Set(snaps.flatMap((s) => Object.keys(s.drift)))];
  const layers = [...new Set(snaps.flatMap((s) => Object.keys(s.denials)))];
  const charts = [
    {
      id: 'anomaly',
      title: 'Anomaly rate',
      yLabel: 'share flagged or denied',
      series: [{ label: 'anomaly rate', y: snaps.map((s) => s.anomalyRate) }],
    },
    {
      id: 'canary',
      title: 'Canary robust accuracy',
      yLabel: 'accuracy on probes',
      series: [{ label: 'canary accuracy', y: snaps.map((s) => s.canaryAccuracy) }],
    },
    {
      id: 'drift',
      title: 'Drift (PSI) per signal',
      yLabel: 'PSI',
      series: signals.map((g) => ({ label: g, y: snaps.map((s) => s.drift[g] ?? null) })),
    },
    {
      id: 'denials',
      title: 'Denials per interval',
      yLabel: 'requests denied',
      series: layers.map((l) => ({ label: l, y: increments(snaps.map((s) => s.denials[l] ?? 0)) })),
    },
  ].map((c) => ({ ...c, x, time: true, xLabel: 'time' }));
  const drift = Object.entries(last?.drift ?? {}).sort((a, b) => b[1] - a[1]);
  // Staged rollouts are audited step by step (rollout.start … rollout.promote / rollback / abort).
  const steps = deps.read.auditByPrefix('rollout.', 30);
  const lastStart = steps.findIndex((e) => e.action === 'rollout.start');
  const finished = steps
    .slice(0, Math.max(0, lastStart))
    .some((e) => ['rollout.promote', 'rollout.rollback', 'rollout.abort'].includes(e.action));
  const inProgress = lastStart >= 0 && !finished ? steps[lastStart] : undefined;
  const rollouts = deps.gov.registry
    .tagHistory()
    .filter((e) => e.tag === 'production' || e.tag === 'candidate' || e.action !== 'tag')
    .slice(-20)
    .reverse();
  const body = html` <nav class="filters" aria-label="Time range">
      ${Object.keys(RANGES).map((r) =>
        r === range ? html`<strong aria-current="true">${r}</strong>` : html`<a href="/monitor${query({ range: r })}">${r}</a>`,
      )}
    </nav>
    ${
      snaps.length === 0
        ? html`<p class="empty">No snapshots in this range. <code>rampart serve --registry DIR</code> stores one every 30 s.</p>`
        : html`<p class="muted">
            ${snaps.length} snapshots; latest ${last?.at.slice(0, 19).replace('T', ' ')} from model ${last?.model ?? '—'}.
          </p>`
    }
    ${table(
      'Drift now, drifting first (PSI ≥ 0.25 is a real shift)',
      ['Signal', 'PSI', 'Reading'],
      drift.map(([signal, psi]) => [
        signal,
        psi.toFixed(3),
        psi >= PSI_ALERT ? html`<strong>drifting</strong>` : psi >= 0.1 ? 'moderate' : 'stable',
      ]),
      'No drift signals yet.',
    )}
    ${charts.map((c) => html`<div class="chart" role="figure" data-chart="${c.id}" aria-label="${c.title}"></div>`)}
    ${jsonScript('chart-data', snaps.length === 0 ? [] : charts)}
    <h2>Rollouts</h2>
    ${
      inProgress
        ? html`<p class="notice" role="status">
            Rollout of <strong>${inProgress.subject}</strong> in progress since ${inProgress.at.slice(0, 19).replace('T', ' ')}; latest
            step: ${steps[0]?.action ?? ''}.
          </p>`
        : html`<p class="muted">No staged rollout in progress.</p>`
    }
    ${table(
      'Rollout steps (newest first)',
      ['When', 'Step', 'Candidate', 'Details'],
      steps
        .slice(0, 15)
        .map((e) => [e.at.slice(0, 19).replace('T', ' '), e.action, short(e.subject), JSON.stringify(e.details).slice(0, 160)]),
      'No staged rollouts yet.',
    )}
    ${table(
      'Tag moves (newest first)',
      ['When', 'Tag', 'Action', 'From', 'To', 'By', 'Reason'],
      rollouts.map((e) => [
        e.at.slice(0, 19).replace('T', ' '),
        e.tag,
        e.action,
        short(e.previousDigest),
        short(e.digest),
        e.actor,
        e.reason ?? '—',
      ]),
      'No tag moves yet.',
    )}
    <p class="muted">Rollbacks since the server started: ${last?.rollbacks ?? 0}; requests: ${last?.requests ?? 0}.</p>`;
  return page({ title: 'Monitor', path: req.path, principal: req.principal, csrf: req.csrf, charts: true }, body);
}

/**
 * The parts of the HTML report that say how far a number can be trusted: each rate with
 * its 95% interval and n, the "weaker evaluation: upper bound" label when the suite was
 * switched off, and the gradient-masking checks per threat.
 */
import type { Rate } from '../../eval/rate.js';
import type { EvaluationResults } from '../../eval/results.js';
import { escapeHtml as esc } from '../svg/escape.js';

export const UPPER_BOUND_LABEL = 'weaker evaluation: upper bound';

const pct = (v: number): string => `${(v * 100).toFixed(1)}%`;

/** A rate's cell: the value, then its interval and n underneath; the upper-bound label when it applies. */
export function rateCell(value: number | undefined, rate: Rate | undefined, upperBound = false): string {
  if (value === undefined) return '<td class="num">–</td>';
  const interval = rate ? `<br><span class="muted">95% CI ${pct(rate.lower)}–${pct(rate.upper)}, n=${rate.n}</span>` : '';
  const label = upperBound ? `<br><span class="skip">${UPPER_BOUND_LABEL}</span>` : '';
  return `<td class="num">${pct(value)}${interval}${label}</td>`;
}

/** How a model's robust numbers were measured, in one line. */
export function methodLine(name: string, results: EvaluationResults): string {
  const m = results.method;
  if (!m) return '';
  const how = m.suite
    ? `the <code>${esc(m.suite)}</code> suite plus ${esc(m.attacks.join(', ') || 'no other attacks')}, worst case per example`
    : `${esc(m.attacks.join(', '))} only (no suite)`;
  const note = m.note ? ` ${esc(m.note)}` : '';
  return `<li><strong>${esc(name)}</strong>: robust accuracy from ${how}${m.upperBound ? ` — <span class="skip">${UPPER_BOUND_LABEL}</span>` : ''}.${note}</li>`;
}

/** The gradient-masking checks of every model that ran them: one row per threat and check. */
export function maskingSection(models: { name: string; results: EvaluationResults }[]): string {
  const withChecks = models.filter((m) => m.results.masking && Object.keys(m.results.masking).length > 0);
  if (withChecks.length === 0) return '<p class="muted">The gradient-masking checks did not run in this run.</p>';
  const cls = (s: string): string => (s === 'pass' ? 'ok' : s === 'warn' ? 'skip' : 'bad');
  return withChecks
    .map((m) => {
      const rows = Object.entries(m.results.masking ?? {})
        .flatMap(([threat, summary]) =>
          summary.checks.map(
            (c, i) =>
              `<tr>${i === 0 ? `<td rowspan="${summary.checks.length}"><code>${esc(threat)}</code><br><span class="${cls(summary.status)}">${esc(summary.status)}</span>, ${summary.examples} examples</td>` : ''}<td>${esc(c.title)}</td><td class="${cls(c.status)}">${esc(c.status)}</td><td>${esc(c.explanation)}</td></tr>`,
          ),
        )
        .join('');
      return `<h3>${esc(m.name)}</h3><table><thead><tr><th>threat</th><th>check</th><th>status</th><th>explanation</th></tr></thead><tbody>${rows}</tbody></table>`;
    })
    .join('');
}

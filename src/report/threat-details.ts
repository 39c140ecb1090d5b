/**
 * What the evaluation results say beyond the robust accuracies: how each threat was
 * evaluated (its technique's attacks, a surrogate, a sparse norm's attacks), the targeted
 * threats' success at reaching their target, and the defended stack under the adaptive
 * attack with what each layer adds. As Markdown (the gate summary) and HTML (the report).
 */
import type { EvaluationResults } from '../eval/results.js';
import { escapeHtml as esc } from './svg/escape.js';
import { defendedStackMarkdown } from './defended-stack-table.js';
import { escapeMarkdownCell } from './gate-markdown.js';
import { percent } from './table.js';

const interval = (r: { lower: number; upper: number; n: number }): string => `95% CI ${percent(r.lower)}–${percent(r.upper)}, n=${r.n}`;

/** Markdown sections for a model's results; empty when there is nothing beyond the robust accuracies. */
export function threatDetailsMarkdown(results: EvaluationResults): string {
  const out: string[] = [];
  const notes = Object.entries(results.threatNotes ?? {});
  if (notes.length > 0)
    out.push(
      '### How threats were evaluated',
      '',
      ...notes.map(([id, note]) => `- \`${escapeMarkdownCell(id)}\`: ${escapeMarkdownCell(note)}`),
    );
  const targeted = Object.entries(results.targetedSuccess ?? {});
  if (targeted.length > 0)
    out.push(
      ...(out.length > 0 ? [''] : []),
      '### Targeted threats',
      '',
      '| threat | target | reached target | interval |',
      '|---|---|---|---|',
      ...targeted.map(([id, r]) => `| \`${escapeMarkdownCell(id)}\` | ${r.target} | ${percent(r.value)} | ${interval(r)} |`),
    );
  if (results.defendedStack) out.push(...(out.length > 0 ? [''] : []), defendedStackMarkdown(results.defendedStack));
  return out.join('\n');
}

/** The HTML section for every model with threat notes, targeted rates or a defended stack; empty when none has them. */
export function threatDetailsHtml(models: readonly { name: string; results: EvaluationResults }[]): string {
  const parts: string[] = [];
  for (const { name, results } of models) {
    const notes = Object.entries(results.threatNotes ?? {});
    const targeted = Object.entries(results.targetedSuccess ?? {});
    const stack = results.defendedStack;
    if (notes.length === 0 && targeted.length === 0 && !stack) continue;
    parts.push(`<h3>${esc(name)}</h3>`);
    if (notes.length > 0) parts.push(`<ul>${notes.map(([id, n]) => `<li><code>${esc(id)}</code>: ${esc(n)}</li>`).join('')}</ul>`);
    if (targeted.length > 0)
      parts.push(
        `<table><thead><tr><th>targeted threat</th><th>target</th><th>reached target</th></tr></thead><tbody>${targeted
          .map(
            ([id, r]) =>
              `<tr><td><code>${esc(id)}</code></td><td class="num">${r.target}</td><td class="num">${percent(r.value)}<br><span class="muted">${esc(interval(r))}</span></td></tr>`,
          )
          .join('')}</tbody></table>`,
      );
    if (stack) {
      const bare = stack.configs[0]?.robustAccuracy.value ?? 0;
      const rows = stack.configs
        .map((c) => {
          const label = c.layers.length === 0 ? 'bare model' : c.layers.join(' + ');
          const adds = c.layers.length === 0 ? '' : `${(100 * (c.robustAccuracy.value - bare)).toFixed(1)}`;
          const cells = [c.misclassified, c.attackSuccess, c.robustAccuracy, c.cleanPass].map(
            (r) => `<td class="num">${percent(r.value)}</td>`,
          );
          return `<tr><td>${esc(label)}</td>${cells.slice(0, 3).join('')}<td class="num">${adds}</td>${cells[3] ?? ''}</tr>`;
        })
        .join('');
      parts.push(
        `<p>Defended stack, adaptive attack at <code>${esc(stack.threat)}</code> on ${stack.count} inputs: robust accuracy ${percent(stack.robustAccuracy.value)} (${esc(interval(stack.robustAccuracy))}).</p>`,
        `<table><thead><tr><th>layers</th><th>misclassified</th><th>misclassified and passed</th><th>robust acc</th><th>adds (points)</th><th>clean passed</th></tr></thead><tbody>${rows}</tbody></table>`,
      );
    }
  }
  return parts.join('');
}

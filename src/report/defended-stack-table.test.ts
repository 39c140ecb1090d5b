import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rateOf } from '../eval/rate.js';
import type { DefendedStackReport } from '../eval/adaptive/index.js';
import { defendedStackMarkdown, defendedStackTable } from './defended-stack-table.js';

const config = (layers: string[], success: number, robust: number) => ({
  layers,
  attackSuccess: rateOf(success, 90),
  misclassified: rateOf(85, 90),
  robustAccuracy: rateOf(robust, 100),
  cleanPass: rateOf(88, 100),
});

test('each layer row shows what it adds over the bare model; the last row the whole stack', () => {
  const report: DefendedStackReport = {
    kind: 'rampart.defended-stack-report',
    threat: 'linf-0.1',
    count: 100,
    cleanAccuracy: rateOf(90, 100),
    configs: [config([], 85, 5), config(['abstain'], 80, 10), config(['ood'], 83, 7), config(['abstain', 'ood'], 70, 20)],
    added: { abstain: 0.05, ood: 0.02 },
    robustAccuracy: rateOf(20, 100),
  };
  const md = defendedStackMarkdown(report);
  assert.match(md, /\| abstain \| 94\.44% \| 88\.89% \| 10\.00% \| 5\.0 \| 88\.00% \|/);
  assert.match(md, /\| abstain \+ ood \| .* \| 20\.00% \| 15\.0 \|/);
  assert.match(md, /77\.78% of the attacked inputs were misclassified and passed every layer/);
  assert.match(defendedStackTable(report), /bare model/);
});

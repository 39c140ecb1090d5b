import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RampartError } from '../../core/errors.js';
import { adversarialExamples } from '../../eval/adversarial-examples.js';
import { imageExplanationEvidence, textExplanationEvidence } from '../../eval/explain/evidence.js';
import { summarizeTextShifts } from '../../eval/explain/summary.js';
import { threatModel } from '../../threats/threat-model.js';
import { openGovernance } from '../../governance/index.js';
import { smallMnist, trainedMlp } from '../../../test/fixtures.js';
import { renderHtmlReport, type HtmlReportData } from './report.js';
import type { TextShift } from '../../eval/explain/compare.js';

const shift: TextShift = {
  method: 'leave-one-out',
  target: 1,
  probabilityBefore: 0.97,
  probabilityAfter: 0.31,
  topBefore: [{ word: 'free', importance: 0.2 }],
  moved: [{ before: 'free', after: '<b>fr3e</b>', importanceBefore: 0.2, importanceAfter: -0.01 }],
};

function page(examples: HtmlReportData['examples']): string {
  return renderHtmlReport({
    title: 't',
    planName: 'p',
    createdAt: '2026-01-01T00:00:00Z',
    models: [],
    reliability: [],
    examples,
    textAttacks: [
      {
        threat: 'spam-typo',
        model: 'm',
        items: [{ original: 'win a free prize', adversarial: 'win a <b>fr3e</b> prize', changes: [], explanation: shift }],
        explanation: summarizeTextShifts('spam-typo', [shift]),
      },
    ],
    risks: [],
  });
}

test('the report shows attributions before and after each attack and where attacks moved them; self-contained', async () => {
  const model = await trainedMlp();
  const { test: data } = smallMnist();
  const set = await adversarialExamples({
    model,
    name: 'hardened',
    data,
    threat: threatModel({ id: 'linf-0.2', norm: 'linf', epsilon: 0.2 }),
    attack: { id: 'fgsm' },
    count: 3,
    seed: 1,
  });
  assert.ok(set.explanation, 'white-box models are explained by default');
  assert.equal(set.explanation.method, 'ig');
  assert.ok(set.items.every((it) => it.explanation && it.explanation.clean.length === 784 && it.explanation.moved.length === 10));
  const html = page([set]);
  assert.equal((html.match(/alt="attr\. clean"/g) ?? []).length, 3);
  assert.equal((html.match(/alt="attr\. adv"/g) ?? []).length, 3);
  assert.match(html, /Where the attack moved the model&#39;s attention|Where the attack moved the model's attention/);
  assert.match(html, /Words attacks exploit most often/);
  assert.match(html, /word importance \(before → after\)/);
  assert.doesNotMatch(html, /<script|<b>fr3e/i, 'text from the attack is escaped');
  for (const m of html.matchAll(/ src="([^"]+)"/g)) assert.match(m[1] as string, /^data:image\/png;base64,/);
  const off = await adversarialExamples({
    model,
    name: 'hardened',
    data,
    threat: threatModel({ id: 'linf-0.2', norm: 'linf', epsilon: 0.2 }),
    attack: { id: 'fgsm' },
    count: 1,
    seed: 1,
    explain: false,
  });
  assert.equal(off.explanation, undefined);
  assert.doesNotMatch(page([off]), /attr\. clean/);

  // The same summary as a vulnerability's evidence: stored, read back, and in the report.
  const root = mkdtempSync(join(tmpdir(), 'rampart-explain-'));
  const gov = openGovernance(join(root, '.rampart'), { actor: 'tester' });
  try {
    const explanation = imageExplanationEvidence(set.explanation.summary, set.explanation.settings as Record<string, unknown>);
    const v = gov.vulnerabilities.file({
      threatId: 'linf-0.2',
      attack: 'fgsm',
      evidence: { metric: 'robustAccuracy', measured: 0.1, required: '>= 0.8', explanation },
      severity: 'high',
      owner: 'ml',
      remediation: 'harden',
    });
    assert.deepEqual(gov.vulnerabilities.get(v.id).evidence.explanation, explanation);
    const report = gov.vulnerabilities.report(v.id);
    assert.match(report, /What the attack leaned on \(ig steps=32 baseline=zeros\)/);
    assert.match(report, /\| rows \d+-\d+, cols \d+-\d+ \| 0\.\d+ \|/);
    const words = textExplanationEvidence(summarizeTextShifts('spam-typo', [shift]));
    assert.deepEqual(words.top, [{ feature: 'free', weight: 1 }]);
    assert.throws(
      () =>
        gov.vulnerabilities.file({
          threatId: 't',
          attack: 'a',
          evidence: {
            metric: 'm',
            measured: 1,
            required: 2,
            explanation: { method: 'ig', summary: 's', top: [{ feature: 'x' }] } as never,
          },
          severity: 'low',
          owner: 'o',
          remediation: 'r',
        }),
      (e: unknown) => e instanceof RampartError && e.code === 'E_VULN_INPUT',
    );
  } finally {
    gov.close();
    rmSync(root, { recursive: true, force: true });
  }
});

/** The gate on constructed results: passes, each kind of failure, regression, JUnit XML and Markdown. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { evaluateGate } from '../src/eval/gate.js';
import type { PlanCriteria } from '../src/pipeline/plan/schema.js';
import type { EvaluationResults } from '../src/eval/results.js';
import { gateJunit } from '../src/report/junit.js';
import { gateMarkdown } from '../src/report/gate-markdown.js';
import { rateOf } from '../src/eval/rate.js';

function results(overrides: Partial<EvaluationResults> = {}): EvaluationResults {
  return {
    kind: 'rampart.evaluation-results',
    schemaVersion: 1,
    model: { name: 'demo/hardened', sha256: 'ab'.repeat(32) },
    cleanAccuracy: 0.97,
    robustAccuracy: { 'linf-0.1': 0.9, 'linf-0.3': 0.6 },
    ece: 0.03,
    latencyP99Ms: 4.2,
    curves: [],
    unmeasured: {},
    ...overrides,
  };
}

const criteria: PlanCriteria = {
  cleanAccuracy: 0.95,
  robustAccuracy: { 'linf-0.1': 0.85, 'linf-0.3': 0.5 },
  ece: 0.05,
  latencyP99Ms: 10,
  maxRegression: 0.02,
};

describe('gate', () => {
  it('passes a candidate that meets every criterion; regression is skipped without production results', () => {
    const gate = evaluateGate(criteria, results());
    assert.equal(gate.passed, true);
    assert.deepEqual(
      gate.checks.map((c) => `${c.id}:${c.status}`),
      [
        'clean-accuracy:passed',
        'robust-accuracy:linf-0.1:passed',
        'robust-accuracy:linf-0.3:passed',
        'ece:passed',
        'latency-p99:passed',
        'regression:skipped',
      ],
    );
    assert.equal(gate.checks[1]?.threat, 'linf-0.1');
  });

  it('treats a value exactly at the threshold as meeting it', () => {
    assert.equal(evaluateGate({ cleanAccuracy: 0.97, ece: 0.03 }, results()).passed, true);
  });

  it('fails each criterion that is not met, naming measured and required values', () => {
    const gate = evaluateGate(
      criteria,
      results({ cleanAccuracy: 0.9, robustAccuracy: { 'linf-0.1': 0.9, 'linf-0.3': 0.41 }, ece: 0.08, latencyP99Ms: 12.5 }),
    );
    assert.equal(gate.passed, false);
    const failed = Object.fromEntries(gate.checks.filter((c) => !c.passed).map((c) => [c.id, c]));
    assert.deepEqual(Object.keys(failed).sort(), ['clean-accuracy', 'ece', 'latency-p99', 'robust-accuracy:linf-0.3']);
    assert.equal(failed['robust-accuracy:linf-0.3']?.measured, 0.41);
    assert.equal(failed['robust-accuracy:linf-0.3']?.required, 0.5);
    assert.match(failed['robust-accuracy:linf-0.3']?.message ?? '', /41\.0% < 50\.0%/);
    assert.match(failed['latency-p99']?.message ?? '', /12\.50 ms > 10\.00 ms/);
  });

  it('fails a criterion that was not measured, with the reason when known', () => {
    const gate = evaluateGate(
      { robustAccuracy: { spam: 0.8 }, ece: 0.1 },
      results({ robustAccuracy: {}, unmeasured: { spam: 'text threats need a text model' } }) as EvaluationResults,
    );
    const noEce = results();
    delete noEce.ece;
    assert.equal(gate.passed, false);
    assert.match(gate.checks[0]?.message ?? '', /not measured: text threats need a text model/);
    assert.equal(gate.checks[0]?.measured, null);
    assert.equal(evaluateGate({ ece: 0.1 }, noEce).passed, false);
  });

  it('checks regression against production on clean accuracy and every shared threat', () => {
    const production = results({
      model: { name: 'demo/v1' },
      cleanAccuracy: 0.98,
      robustAccuracy: { 'linf-0.1': 0.93, 'linf-0.3': 0.55, 'l2-1': 0.7 },
    });
    const ok = evaluateGate(
      { maxRegression: 0.02 },
      results({ cleanAccuracy: 0.965, robustAccuracy: { 'linf-0.1': 0.915, 'linf-0.3': 0.6 } }),
      production,
    );
    assert.equal(ok.passed, true);
    assert.equal(ok.comparedWith, 'demo/v1');
    // l2-1 is not measured for the candidate, so it is not compared.
    assert.deepEqual(
      ok.checks.map((c) => c.id),
      ['regression:clean-accuracy', 'regression:robust-accuracy:linf-0.1', 'regression:robust-accuracy:linf-0.3'],
    );
    const bad = evaluateGate(
      { maxRegression: 0.02 },
      results({ cleanAccuracy: 0.97, robustAccuracy: { 'linf-0.1': 0.88, 'linf-0.3': 0.6 } }),
      production,
    );
    assert.equal(bad.passed, false);
    const failed = bad.checks.filter((c) => !c.passed);
    assert.deepEqual(
      failed.map((c) => c.id),
      ['regression:robust-accuracy:linf-0.1'],
    );
    assert.match(failed[0]?.message ?? '', /drop 5\.0 pts; at most 2\.0 pts allowed/);
  });

  it('writes valid, escaped JUnit XML with one test case per check', () => {
    const gate = evaluateGate({ cleanAccuracy: 0.99, robustAccuracy: { 'linf-0.1': 0.85 }, maxRegression: 0.1 }, results());
    const xml = gateJunit(gate, { name: 'plan <"&\'>', timestamp: '2026-01-01T00:00:00Z' });
    assert.match(xml, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites /);
    assert.match(xml, /<testsuite name="rampart gate: plan &lt;&quot;&amp;&apos;&gt;" tests="3" failures="1" errors="0" skipped="1"/);
    assert.equal((xml.match(/<testcase /g) ?? []).length, 3);
    assert.equal((xml.match(/<failure /g) ?? []).length, 1);
    assert.equal((xml.match(/<skipped /g) ?? []).length, 1);
    assert.match(xml, /name="clean-accuracy: clean accuracy ≥ 99\.0%"/);
    // Only escaped text between tags: no raw '<' or '&' inside attribute values or content.
    const stripped = xml.replace(/<\/?[a-z?][^<>]*>/gi, '');
    assert.doesNotMatch(stripped, /[<>]|&(?!amp;|lt;|gt;|quot;|apos;)/);
    assertBalanced(xml);
  });

  it('writes a Markdown summary with the verdict and every failed check', () => {
    const gate = evaluateGate(criteria, results({ ece: 0.2 }));
    const md = gateMarkdown(gate, { name: 'demo', candidate: 'demo|hardened' });
    assert.match(md, /^## Rampart gate: demo — ❌ FAILED/);
    assert.match(md, /Candidate: `demo\\\|hardened`/);
    assert.match(md, /\| `ece` \| expected calibration error ≤ 0\.0500 \| 0\.2000 \| ❌ FAIL \|/);
    assert.match(md, /### Failed\n\n- \*\*ece\*\*: expected calibration error 0\.2000 > 0\.0500/);
    assert.match(gateMarkdown(evaluateGate({ cleanAccuracy: 0.5 }, results()), { name: 'demo' }), /✅ PASSED/);
  });
});

describe('gate: intervals, confidence, upper bounds and masking', () => {
  // 72 of 100 robust: the 95% Clopper-Pearson interval is about 62.1%–80.5%.
  const measured = () =>
    results({
      cleanAccuracy: 0.97,
      robustAccuracy: { 'linf-0.3': 0.72 },
      rates: { clean: rateOf(97, 100), robust: { 'linf-0.3': rateOf(72, 100) } },
    });

  it('reports each rate with its 95% interval and n in the check, JUnit and Markdown', () => {
    const gate = evaluateGate({ cleanAccuracy: 0.99, robustAccuracy: { 'linf-0.3': 0.7 } }, measured());
    const robust = gate.checks.find((c) => c.id === 'robust-accuracy:linf-0.3');
    assert.equal(robust?.interval?.n, 100);
    assert.ok(Math.abs((robust?.interval?.lower ?? 0) - 0.6213) < 1e-3, String(robust?.interval?.lower));
    assert.match(robust?.message ?? '', /72\.0% ≥ 70\.0% \(95% CI 62\.1%–80\.5%, n=100\)/);
    const xml = gateJunit(gate, { name: 'demo' });
    assert.match(xml, /<system-out>robust accuracy \(linf-0\.3\) 72\.0% ≥ 70\.0% \(95% CI 62\.1%–80\.5%, n=100\)<\/system-out>/);
    assert.match(xml, /95% interval: \[0\.9148, 0\.9938\] \(Clopper-Pearson\), n: 100/);
    assert.match(gateMarkdown(gate, { name: 'demo' }), /\| 72\.0% \(95% CI 62\.1%–80\.5%, n=100\) \| ✅ pass \|/);
  });

  it("with confidence: lower-bound, gates on the interval's lower bound", () => {
    const point = evaluateGate({ robustAccuracy: { 'linf-0.3': 0.7 } }, measured());
    const lower = evaluateGate({ robustAccuracy: { 'linf-0.3': 0.7 }, confidence: 'lower-bound' }, measured());
    assert.equal(point.passed, true);
    assert.equal(lower.passed, false);
    assert.match(lower.checks[0]?.criterion ?? '', /\(95% lower bound\) ≥ 70\.0%/);
    assert.match(lower.checks[0]?.message ?? '', /lower bound 62\.1% < 70\.0% \(measured 72\.0%, 95% CI/);
    assert.equal(evaluateGate({ robustAccuracy: { 'linf-0.3': 0.6 }, confidence: 'lower-bound' }, measured()).passed, true);
    // No counts recorded: no lower bound to gate on, so it fails and says why.
    const bare = evaluateGate({ robustAccuracy: { 'linf-0.3': 0.5 }, confidence: 'lower-bound' }, results());
    assert.equal(bare.passed, false);
    assert.match(bare.checks[0]?.message ?? '', /has no interval/);
  });

  it('labels numbers from an evaluation without the suite as upper bounds', () => {
    const weaker = { ...measured(), method: { suite: null, attacks: ['fgsm', 'pgd'], upperBound: true } };
    const gate = evaluateGate({ robustAccuracy: { 'linf-0.3': 0.7 } }, weaker);
    assert.match(gate.checks[0]?.message ?? '', /weaker evaluation: upper bound/);
    assert.match(gateMarkdown(gate, { name: 'demo' }), /_Weaker evaluation: upper bound\./);
    const strong = evaluateGate(
      { robustAccuracy: { 'linf-0.3': 0.7 } },
      { ...measured(), method: { suite: 'standard:quick', attacks: ['pgd'], upperBound: false } },
    );
    assert.doesNotMatch(strong.checks[0]?.message ?? '', /upper bound/);
  });

  it('makes masking checks criteria: fail fails with the explanation, warn passes and is shown', () => {
    const check = (id: string, status: 'pass' | 'warn' | 'fail', explanation: string) => ({ id, title: id, status, explanation });
    const masked = results({
      masking: {
        'linf-0.3': {
          status: 'fail',
          examples: 50,
          checks: [check('gradients-nonzero-finite', 'fail', 'Gradients are zero; use BPDA.'), check('iterations-plateau', 'pass', 'ok')],
        },
        'linf-0.1': { status: 'warn', examples: 50, checks: [check('iterations-plateau', 'warn', 'More steps broke more examples.')] },
      },
    });
    const gate = evaluateGate({}, masked);
    assert.equal(gate.passed, false);
    const byId = Object.fromEntries(gate.checks.map((c) => [c.id, c]));
    assert.equal(byId['masking:linf-0.3']?.status, 'failed');
    assert.match(
      byId['masking:linf-0.3']?.message ?? '',
      /1 of 2 gradient-masking checks failed at linf-0\.3 on 50 examples.*gradients-nonzero-finite: Gradients are zero; use BPDA\./,
    );
    assert.equal(byId['masking:linf-0.1']?.status, 'passed');
    assert.deepEqual(byId['masking:linf-0.1']?.warnings, ['iterations-plateau: More steps broke more examples.']);
    const md = gateMarkdown(gate, { name: 'demo' });
    assert.match(md, /⚠️ pass, warned/);
    assert.match(md, /### Warnings\n\n- \*\*masking:linf-0\.1\*\*: iterations-plateau: More steps broke more examples\./);
    assert.equal(evaluateGate({ masking: false }, masked).passed, true);
    assert.equal(evaluateGate({ masking: true }, results()).passed, false, 'required but not run');
  });
});

/** Every opened element is closed in order (a small structural check of the XML). */
function assertBalanced(xml: string): void {
  const stack: string[] = [];
  for (const m of xml.matchAll(/<(\/?)([a-zA-Z-]+)[^>]*?(\/?)>/g)) {
    const [, closing, name, selfClosing] = m;
    if (selfClosing) continue;
    if (closing) assert.equal(stack.pop(), name, `unbalanced </${name}>`);
    else stack.push(name as string);
  }
  assert.deepEqual(stack, []);
}

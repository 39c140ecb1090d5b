/** The gate on constructed results: passes, each kind of failure, regression, JUnit XML and Markdown. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { evaluateGate } from '../src/eval/gate.js';
import type { PlanCriteria } from '../src/pipeline/plan/schema.js';
import type { EvaluationResults } from '../src/eval/results.js';
import { gateJunit } from '../src/report/junit.js';
import { gateMarkdown } from '../src/report/gate-markdown.js';

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

const criteria: PlanCriteria = { cleanAccuracy: 0.95, robustAccuracy: { 'linf-0.1': 0.85, 'linf-0.3': 0.5 }, ece: 0.05, latencyP99Ms: 10, maxRegression: 0.02 };

describe('gate', () => {
  it('passes a candidate that meets every criterion; regression is skipped without production results', () => {
    const gate = evaluateGate(criteria, results());
    assert.equal(gate.passed, true);
    assert.deepEqual(gate.checks.map((c) => `${c.id}:${c.status}`), ['clean-accuracy:passed', 'robust-accuracy:linf-0.1:passed', 'robust-accuracy:linf-0.3:passed', 'ece:passed', 'latency-p99:passed', 'regression:skipped']);
    assert.equal(gate.checks[1]?.threat, 'linf-0.1');
  });

  it('treats a value exactly at the threshold as meeting it', () => {
    assert.equal(evaluateGate({ cleanAccuracy: 0.97, ece: 0.03 }, results()).passed, true);
  });

  it('fails each criterion that is not met, naming measured and required values', () => {
    const gate = evaluateGate(criteria, results({ cleanAccuracy: 0.9, robustAccuracy: { 'linf-0.1': 0.9, 'linf-0.3': 0.41 }, ece: 0.08, latencyP99Ms: 12.5 }));
    assert.equal(gate.passed, false);
    const failed = Object.fromEntries(gate.checks.filter((c) => !c.passed).map((c) => [c.id, c]));
    assert.deepEqual(Object.keys(failed).sort(), ['clean-accuracy', 'ece', 'latency-p99', 'robust-accuracy:linf-0.3']);
    assert.equal(failed['robust-accuracy:linf-0.3']?.measured, 0.41);
    assert.equal(failed['robust-accuracy:linf-0.3']?.required, 0.5);
    assert.match(failed['robust-accuracy:linf-0.3']?.message ?? '', /41\.0% < 50\.0%/);
    assert.match(failed['latency-p99']?.message ?? '', /12\.50 ms > 10\.00 ms/);
  });

  it('fails a criterion that was not measured, with the reason when known', () => {
    const gate = evaluateGate({ robustAccuracy: { spam: 0.8 }, ece: 0.1 }, results({ robustAccuracy: {}, unmeasured: { spam: 'text threats need a text model' } }) as EvaluationResults);
    const noEce = results();
    delete noEce.ece;
    assert.equal(gate.passed, false);
    assert.match(gate.checks[0]?.message ?? '', /not measured: text threats need a text model/);
    assert.equal(gate.checks[0]?.measured, null);
    assert.equal(evaluateGate({ ece: 0.1 }, noEce).passed, false);
  });

  it('checks regression against production on clean accuracy and every shared threat', () => {
    const production = results({ model: { name: 'demo/v1' }, cleanAccuracy: 0.98, robustAccuracy: { 'linf-0.1': 0.93, 'linf-0.3': 0.55, 'l2-1': 0.7 } });
    const ok = evaluateGate({ maxRegression: 0.02 }, results({ cleanAccuracy: 0.965, robustAccuracy: { 'linf-0.1': 0.915, 'linf-0.3': 0.6 } }), production);
    assert.equal(ok.passed, true);
    assert.equal(ok.comparedWith, 'demo/v1');
    // l2-1 is not measured for the candidate, so it is not compared.
    assert.deepEqual(ok.checks.map((c) => c.id), ['regression:clean-accuracy', 'regression:robust-accuracy:linf-0.1', 'regression:robust-accuracy:linf-0.3']);
    const bad = evaluateGate({ maxRegression: 0.02 }, results({ cleanAccuracy: 0.97, robustAccuracy: { 'linf-0.1': 0.88, 'linf-0.3': 0.6 } }), production);
    assert.equal(bad.passed, false);
    const failed = bad.checks.filter((c) => !c.passed);
    assert.deepEqual(failed.map((c) => c.id), ['regression:robust-accuracy:linf-0.1']);
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

/** The HTML report and its SVG/PNG pieces on constructed data: self-contained, escaped, well-formed. */
import assert from 'node:assert/strict';
import { inflateSync } from 'node:zlib';
import { describe, it } from 'node:test';
import { evaluateGate } from '../src/eval/gate.js';
import type { EvaluationResults } from '../src/eval/results.js';
import { rateOf } from '../src/eval/rate.js';
import { renderHtmlReport, type HtmlReportData } from '../src/report/html/report.js';
import { encodePng } from '../src/report/html/png.js';
import { diffWords, textDiffHtml } from '../src/report/html/text-diff.js';
import { linePlot, niceTicks } from '../src/report/svg/line-plot.js';
import { reliabilityDiagram } from '../src/report/svg/reliability.js';

const EVIL = '<script>alert("x")</script>&';

function results(name: string, clean: number, robust: number[]): EvaluationResults {
  return {
    kind: 'rampart.evaluation-results',
    schemaVersion: 1,
    model: { name, sha256: 'cd'.repeat(32) },
    cleanAccuracy: clean,
    robustAccuracy: { 'linf-0.1': robust[0] as number, [EVIL]: robust[1] as number },
    ece: 0.04,
    latencyP99Ms: 3.5,
    curves: [
      {
        norm: 'linf',
        points: [0, 0.1, 0.2].map((epsilon, i) => ({ epsilon, robustAccuracy: i === 0 ? clean : (robust[i - 1] as number) })),
      },
    ],
    reliability: [
      { lower: 0, upper: 0.5, count: 10, confidence: 0.4, accuracy: 0.3 },
      { lower: 0.5, upper: 1, count: 90, confidence: 0.9, accuracy: 0.95 },
    ],
    unmeasured: {},
  };
}

function data(): HtmlReportData {
  const hardened = results(`hardened ${EVIL}`, 0.97, [0.9, 0.6]);
  const pixels = Array.from({ length: 16 }, (_, i) => i / 15);
  return {
    title: `Report ${EVIL}`,
    planName: EVIL,
    description: EVIL,
    createdAt: '2026-01-01T00:00:00Z',
    data: { name: 'mnist', sha256: 'ef'.repeat(32), evaluationCount: 100 },
    models: [
      { name: 'baseline', results: results('baseline', 0.99, [0.1, 0]) },
      {
        name: 'hardened',
        results: hardened,
        training: { method: 'pgd-at', epochs: 3, testAccuracy: 0.97, trainingMs: 1000, selection: 'best-robust' },
      },
    ],
    reliability: [{ model: `hardened ${EVIL}`, bins: hardened.reliability ?? [], ece: 0.04 }],
    examples: [
      {
        model: EVIL,
        threat: 'linf-0.1',
        attack: 'pgd',
        shape: [4, 4, 1],
        bounds: { min: 0, max: 1 },
        items: [
          { label: 1, cleanPrediction: 1, adversarialPrediction: 7, clean: pixels, adversarial: pixels.map((p) => Math.min(1, p + 0.1)) },
        ],
      },
    ],
    textAttacks: [
      {
        threat: 'spam-typo',
        model: EVIL,
        items: [
          {
            original: 'win a free <b>prize</b> now',
            adversarial: 'win a fr\u200Bee <b>prize</b> now',
            changes: [{ before: 'free', after: 'fr\u200Bee', family: 'invisible' }],
            label: 'spam',
            originalPrediction: 'spam',
            adversarialPrediction: 'ham',
          },
        ],
      },
    ],
    risks: [
      {
        threat: EVIL,
        channel: 'image',
        technique: 'gradient',
        likelihood: 'likely',
        impact: 'major',
        inherent: 16,
        residual: 4.2,
        band: 'low',
        owner: EVIL,
        measured: 0.6,
        required: 0.5,
        status: 'meets criterion',
        riskId: 'RISK-0001',
      },
    ],
    robustCriteria: { 'linf-0.1': 0.85 },
    threatEpsilons: [{ id: 'linf-0.1', norm: 'linf', epsilon: 0.1 }],
    gate: evaluateGate({ cleanAccuracy: 0.95, robustAccuracy: { 'linf-0.1': 0.85 } }, hardened),
    notes: [EVIL],
    rollout: [
      { name: 'shadow', traffic: 0, duration: '24h' },
      { name: `canary ${EVIL}`, traffic: 0.05 },
    ],
  };
}

describe('HTML report', () => {
  const html = renderHtmlReport(data());

  it('is self-contained: no scripts, no external references', () => {
    assert.match(html, /^<!DOCTYPE html>/);
    assert.doesNotMatch(html, /<script/i);
    assert.doesNotMatch(html, /<link|@import|url\(/i);
    assert.doesNotMatch(html, /(src|href)="(?!data:)/);
    for (const m of html.matchAll(/ src="([^"]+)"/g)) assert.match(m[1] as string, /^data:image\/png;base64,/);
  });

  it('escapes every piece of text from plans, models and attacks', () => {
    assert.ok(!html.includes(EVIL));
    assert.ok(html.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;'));
    assert.ok(!html.includes('<b>prize</b>'));
  });

  it('has each section: verdict, curves, reliability, examples, text diffs, risks', () => {
    for (const heading of ['Gate verdict', 'Accuracy against ε', 'Calibration', 'Adversarial examples', 'Text attacks', 'Risk register'])
      assert.ok(html.includes(`<h2>${heading}</h2>`), heading);
    assert.match(html, /class="verdict pass">PASSED/);
    assert.equal((html.match(/<svg /g) ?? []).length, 2);
    assert.equal((html.match(/<img /g) ?? []).length, 3);
    assert.match(html, /<del>free<\/del><ins>fr<span class="zw">⟨U\+200B⟩<\/span>ee<\/ins>/);
    assert.match(html, /RISK-0001/);
    assert.match(html, /Rollout plan: shadow \(0% of traffic, 24h\) → canary &lt;script&gt;/);
  });

  it('shows each rate with its interval and n, the upper-bound label and the masking checks', () => {
    const base = results('hardened', 0.97, [0.72, 0.6]);
    const measured: EvaluationResults = {
      ...base,
      rates: { clean: rateOf(97, 100), robust: { 'linf-0.1': rateOf(72, 100), [EVIL]: rateOf(60, 100) } },
      method: { suite: null, attacks: ['fgsm', 'pgd'], upperBound: true },
      masking: {
        'linf-0.1': {
          status: 'fail',
          examples: 50,
          checks: [{ id: 'gradients-nonzero-finite', title: 'gradients', status: 'fail', explanation: `Zero gradients ${EVIL}` }],
        },
      },
    };
    const page = renderHtmlReport({
      ...data(),
      models: [{ name: 'hardened', results: measured }],
      gate: evaluateGate({ robustAccuracy: { 'linf-0.1': 0.7 } }, measured),
    });
    assert.match(
      page,
      /72\.0%<br><span class="muted">95% CI 62\.1%–80\.5%, n=100<\/span><br><span class="skip">weaker evaluation: upper bound<\/span>/,
    );
    assert.match(page, /97\.0%<br><span class="muted">95% CI 91\.5%–99\.4%, n=100<\/span><\/td>/);
    assert.match(page, /robust accuracy from fgsm, pgd only \(no suite\) — <span class="skip">weaker evaluation: upper bound/);
    assert.match(page, /<h2>Gradient-masking checks<\/h2><h3>hardened<\/h3>/);
    assert.ok(
      page.includes(`Zero gradients ${EVIL.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')}`) ||
        !page.includes('<script>alert'),
    );
    assert.doesNotMatch(page, /<script/i);
    assert.match(page, /<code>masking:linf-0\.1<\/code>/);
    // The risk register's measurement of an image threat carries the label too.
    assert.match(page, /60\.0%<br><span class="skip">weaker evaluation: upper bound<\/span><\/td><td class="num">50\.0%<\/td>/);
    assert.doesNotMatch(renderHtmlReport(data()), /weaker evaluation/, 'no label when the suite ran or the method is unknown');
  });

  it('keeps elements balanced', () => {
    const voids = new Set(['meta', 'img', 'br', 'line', 'circle', 'rect', 'polyline', 'path']);
    const stack: string[] = [];
    for (const m of html.replace(/<!DOCTYPE html>/, '').matchAll(/<(\/?)([a-zA-Z][a-zA-Z0-9-]*)[^>]*?(\/?)>/g)) {
      const [, closing, name, self] = m;
      const tag = (name as string).toLowerCase();
      if (self || (voids.has(tag) && !closing)) {
        if (!self && (tag === 'rect' || tag === 'circle')) stack.push(tag);
        continue;
      }
      if (closing) assert.equal(stack.pop(), tag, `unbalanced </${tag}>`);
      else stack.push(tag);
    }
    assert.deepEqual(stack, []);
  });
});

describe('report pieces', () => {
  it('encodes PNGs that inflate to the declared size', () => {
    const png = encodePng(
      Uint8Array.from({ length: 12 }, (_, i) => i * 20),
      2,
      2,
      3,
    );
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    assert.equal(png.readUInt32BE(16), 2);
    const idatLength = png.readUInt32BE(33);
    assert.equal(png.toString('ascii', 37, 41), 'IDAT');
    assert.equal(inflateSync(png.subarray(41, 41 + idatLength)).length, 2 * (1 + 2 * 3));
    assert.throws(() => encodePng(new Uint8Array(3), 2, 2, 1), RangeError);
  });

  it('plots lines inside the axes with escaped labels', () => {
    const svg = linePlot({
      title: 'a<b',
      xLabel: 'ε',
      yLabel: 'acc',
      series: [
        {
          name: 'x&y',
          points: [
            { x: 0, y: 1 },
            { x: 0.3, y: 0.2 },
          ],
        },
      ],
    });
    assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.ok(svg.includes('a&lt;b') && svg.includes('x&amp;y'));
    const points =
      /<polyline[^>]*points="([^"]+)"/
        .exec(svg)?.[1]
        ?.split(' ')
        .map((p) => p.split(',').map(Number)) ?? [];
    assert.equal(points.length, 2);
    for (const [x, y] of points)
      assert.ok((x as number) >= 56 && (x as number) <= 504 && (y as number) >= 34 && (y as number) <= 256, `${x},${y}`);
    assert.deepEqual(niceTicks(0, 1), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  });

  it('draws one bar per non-empty reliability bin, with the ECE', () => {
    const svg = reliabilityDiagram({
      title: 't',
      bins: [
        { lower: 0, upper: 0.5, count: 0, confidence: 0, accuracy: 0 },
        { lower: 0.5, upper: 1, count: 5, confidence: 0.8, accuracy: 0.6 },
      ],
      ece: 0.123,
    });
    assert.equal((svg.match(/fill="#1f6fb2"/g) ?? []).length, 1);
    assert.match(svg, /ECE 0\.1230/);
  });

  it('diffs words and keeps the whitespace', () => {
    const ops = diffWords('the cat sat', 'the dog sat');
    assert.deepEqual(
      ops.filter((o) => o.kind !== 'same'),
      [
        { kind: 'del', token: 'cat' },
        { kind: 'ins', token: 'dog' },
      ],
    );
    assert.equal(textDiffHtml({ original: 'a b', adversarial: 'a b', changes: [] }), 'a b');
  });
});

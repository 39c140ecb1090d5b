import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gradeOf, letterFor } from './grades.js';
import { html, jsonScript, raw } from './html.js';
import { lineageSvg } from './lineage-svg.js';

describe('console html', () => {
  it('escapes every interpolated value unless it is already html', () => {
    const name = `<script>alert("x")</script>'&`;
    assert.equal(html`<td>${name}</td>`.value, '<td>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39;&amp;</td>');
    assert.equal(html`<p>${[html`<b>${'<i>'}</b>`, raw('<br>'), null, false, 3]}</p>`.value, '<p><b>&lt;i&gt;</b><br>3</p>');
  });

  it('keeps embedded JSON from closing its script element', () => {
    const out = jsonScript('d', { name: '</script><script>alert(1)</script>' }).value;
    assert.equal(out.match(/<\/script>/g)?.length, 1);
    assert.deepEqual(JSON.parse(out.replace(/^<script[^>]*>/, '').replace(/<\/script>$/, '')), {
      name: '</script><script>alert(1)</script>',
    });
  });

  it('escapes lineage labels in the SVG', () => {
    const node = { digest: 'a'.repeat(64), kind: 'model' as const, name: '<img src=x onerror=alert(1)>', depth: 1 };
    const svg = lineageSvg({
      artifact: { ...node, storage: 'blob', size: 1, mediaType: 'x', meta: {}, parents: [], createdAt: '', actor: '' },
      ancestors: [{ ...node, digest: 'b'.repeat(64), kind: 'plan', name: '"><script>' }],
      descendants: [],
      edges: [{ child: 'a'.repeat(64), parent: 'b'.repeat(64) }],
    });
    assert.ok(!svg.includes('<img') && !svg.includes('<script'));
    assert.ok(svg.includes('<line'));
  });
});

describe('headline grade', () => {
  it('is decided by the weakest threat, not the average', () => {
    const g = gradeOf({ robustAccuracy: { a: 0.95, b: 0.96, c: 0.62 } }, { c: { passed: false } });
    assert.equal(g.weakest, 'c');
    assert.equal(g.score, 0.62);
    assert.equal(g.letter, 'D');
    assert.equal(g.threats[0]?.passed, false);
    assert.deepEqual([letterFor(0.9), letterFor(0.8), letterFor(0.7), letterFor(0.49), letterFor(null)], ['A', 'B', 'C', 'F', '—']);
  });
});

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Counter, Histogram, Registry } from 'prom-client';
import { LabelHistogram, PairCounter } from './tally.js';

describe('tally metrics', () => {
  test("scrape the same text as prom-client's own counter and histogram for the same observations", async () => {
    const buckets = [0.00001, 0.0001, 0.001, 0.01];
    const ours = new Registry();
    const theirs = new Registry();
    const c1 = new PairCounter({ name: 'x_total', help: 'h', labelNames: ['layer', 'decision'], registry: ours });
    const h1 = new LabelHistogram({ name: 'x_seconds', help: 'h', labelName: 'layer', buckets, registry: ours });
    const c2 = new Counter({ name: 'x_total', help: 'h', labelNames: ['layer', 'decision'], registers: [theirs] });
    const h2 = new Histogram({ name: 'x_seconds', help: 'h', labelNames: ['layer'], buckets, registers: [theirs] });
    const layers = ['validate', 'ood', 'query-pattern'];
    // Values on bucket bounds, between them and past the last one.
    const values = [0, 0.00001, 0.00002, 0.0001, 0.0005, 0.001, 0.01, 0.02, 3];
    for (let i = 0; i < 40; i++) {
      const layer = layers[i % 3] as string;
      const decision = i % 7 === 0 ? 'flag' : 'pass';
      const v = values[i % values.length] as number;
      c1.inc(layer, decision);
      c2.inc({ layer, decision });
      h1.observe(layer, v);
      h2.observe({ layer }, v);
    }
    assert.equal(await ours.metrics(), await theirs.metrics());
    ours.resetMetrics();
    assert.equal(await ours.metrics(), '# HELP x_total h\n# TYPE x_total counter\n\n# HELP x_seconds h\n# TYPE x_seconds histogram\n');
  });
});

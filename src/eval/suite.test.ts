import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { takeFirst } from '../data/index.js';
import type { TfjsClassifier } from '../models/tfjs-classifier.js';
import { evaluateRobustness } from './robustness.js';
import { threatsAt } from '../threats/threat-model.js';
import { parseSuiteSpec, runSuite, suiteDefinition, type SuiteDefinition, type SuiteReport } from './suite.js';
import { suiteMarkdown, suiteText } from '../report/suite-table.js';
import { engine, smallMnist, trainedMlp } from '../../test/fixtures.js';

/** The standard cascade with budgets small enough for a unit test. */
const TINY: SuiteDefinition = {
  ...suiteDefinition('standard', 'quick'),
  stages: [
    { id: 'apgd-ce', attack: 'apgd-ce', options: { steps: 5 } },
    { id: 'apgd-t', attack: 'apgd-t', options: { steps: 5, targetClasses: 2 } },
    { id: 'fab-t', attack: 'fab-t', options: { steps: 4, targetClasses: 2 } },
    { id: 'square', attack: 'square', options: { queries: 30 } },
  ],
};

function checkConsistent(report: SuiteReport): void {
  for (const r of report.results) {
    let previous = report.clean.correct;
    for (const s of r.stages) {
      assert.equal(s.attacked, previous, `${s.stage} attacks exactly the examples left standing`);
      assert.equal(s.unconfirmed, 0, `${s.stage} claimed breaks a prediction did not confirm`);
      previous = s.attacked - s.broken;
      assert.ok(Math.abs(s.robustAccuracy - previous / report.data.count) < 1e-12);
    }
    assert.equal(r.robustCount, previous);
    const outcomes = r.examples.map((e) => e.outcome);
    assert.equal(outcomes.filter((o) => o === 'robust').length, r.robustCount);
    assert.equal(outcomes.filter((o) => o === 'misclassified').length, report.data.count - report.clean.correct);
    for (const s of r.stages) assert.equal(outcomes.filter((o) => o === s.stage).length, s.broken);
  }
}

describe('the standard suite', () => {
  let model: TfjsClassifier;
  before(async () => {
    await engine();
    model = await trainedMlp();
  });

  test('names and versions its cascade, and rejects unknown ids and variants', () => {
    const quick = parseSuiteSpec('standard:quick');
    assert.equal(quick.version, 1);
    assert.deepEqual(
      quick.stages.map((s) => s.id),
      ['apgd-ce', 'apgd-t', 'fab-t', 'square'],
    );
    assert.equal(parseSuiteSpec('standard').variant, 'full');
    assert.throws(() => parseSuiteSpec('autoattack'), /E_UNKNOWN_SUITE|Unknown suite/);
    assert.throws(() => parseSuiteSpec('standard:huge'), /variant/);
  });

  test('is at least as strong as PGD with the same steps, with consistent per-stage and per-example accounts', async () => {
    const data = takeFirst(smallMnist().test, 100);
    const suite = await runSuite({ model, data, threats: threatsAt('linf', [0.08]), suite: suiteDefinition('standard', 'quick'), seed: 1 });
    const pgd = await evaluateRobustness({
      model,
      data,
      threats: threatsAt('linf', [0.08]),
      attacks: [{ id: 'pgd', options: { steps: 25 } }],
      seed: 1,
    });
    const suiteAcc = suite.results[0]?.robustAccuracy as number;
    const pgdAcc = pgd.worstCase[0]?.robustAccuracy as number;
    assert.ok(suiteAcc <= pgdAcc, `suite ${suiteAcc} > PGD ${pgdAcc}`);
    assert.ok(suiteAcc < suite.clean.accuracy, 'the suite breaks something');
    checkConsistent(suite);
    const text = suiteText(suite);
    assert.match(text, /apgd-t/);
    assert.match(suiteMarkdown(suite), /\| 0.08 \| square \|/);
  });

  test('is deterministic for a seed', async () => {
    const data = takeFirst(smallMnist().test, 30);
    const run = () => runSuite({ model, data, threats: threatsAt('l2', [0, 1]), suite: TINY, seed: 4, batchSize: 16 });
    const a = await run();
    const b = await run();
    const strip = (r: SuiteReport) => r.results.map((e) => ({ ...e, stages: e.stages.map((s) => ({ ...s, durationMs: 0 })) }));
    assert.deepEqual(strip(a), strip(b));
    checkConsistent(a);
    assert.equal(a.results[0]?.robustAccuracy, a.clean.accuracy, 'epsilon 0 leaves the clean accuracy');
  });

  test('runs its stages on a worker pool', async () => {
    const { createWorkerPool } = await import('../execution/pool/index.js');
    const data = takeFirst(smallMnist().test, 24);
    const pool = await createWorkerPool({ workers: 2 });
    try {
      const report = await runSuite({ model, data, threats: threatsAt('linf', [0.1]), suite: TINY, seed: 2, pool });
      assert.equal(report.config.execution.workers, 2);
      checkConsistent(report);
      assert.ok((report.results[0]?.robustAccuracy as number) < report.clean.accuracy);
    } finally {
      await pool.close();
    }
  });
});

/**
 * `runPlan` with a text-only plan whose filter is the char-CNN (`text.model.kind: char-cnn`):
 * the text-train stage trains it behind the normaliser, chooses its operating point under the
 * false-positive budget and saves it; the text-attack stage loads it back as the saved filter
 * (the same path `rampart serve --model` takes) and attacks it under the capped threat.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parsePlanText } from '../src/pipeline/plan/load.js';
import { runPlan, type RunPlanResult } from '../src/pipeline/run/run-plan.js';
import { loadSavedTextFilter } from '../src/defenses/normalize-text/saved-filter.js';
import { engine } from './fixtures.js';

const PLAN = `
name: tiny-cnn
seed: 2
threats:
  - { id: spam-typo, channel: text, technique: character, budget: { maxWordFraction: 0.5, maxWords: 2 }, families: [char-edit, leet], likelihood: likely, impact: minor, owner: team-b }
text:
  dataset: spam-assassin
  maxChars: 400
  trainLimit: 200
  model: { kind: char-cnn, inputChars: 256, filters: 8, hidden: 8, epochs: 2, learningRate: 0.01, normalize: true, decisionThreshold: auto, falsePositiveBudget: 0.05 }
  attack: { id: greedy, options: { maxQueries: 60 } }
  limit: 6
  examples: 1
criteria:
  cleanAccuracy: 0.1
`;

describe('runPlan with a char-CNN text filter', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rampart-run-cnn-'));
  let result: RunPlanResult;

  before(async () => {
    await engine();
    result = await runPlan(parsePlanText(PLAN, 'tiny-cnn.yaml'), { dir });
  });

  after(() => rm(dir, { recursive: true, force: true }));

  it('trains, saves and attacks the char-CNN; the test FPR is reported beside F1', async () => {
    const text = result.text;
    assert.ok(text, 'text stages ran');
    assert.equal(text.training.counts.train, 200);
    assert.equal(typeof text.training.testFalsePositiveRate, 'number');
    assert.ok(text.training.threshold > 0 && text.training.threshold < 1);
    assert.equal(text.attack.count, 6);
    assert.ok('spam-typo' in text.attack.robustAccuracy);
    const saved = await loadSavedTextFilter(join(result.runDir, text.training.modelDir));
    try {
      assert.equal(saved.model.info.architecture, 'char-cnn');
      assert.equal(saved.threshold.threshold, text.training.threshold);
      assert.equal(saved.normalization?.source, 'default');
    } finally {
      saved.model.dispose();
    }
    // The report shows the operating point beside the attacked examples: threshold, F1 and ham FPR.
    const html = await readFile(result.files.report, 'utf8');
    const fpr = ((text.training.testFalsePositiveRate as number) * 100).toFixed(2);
    assert.ok(
      html.includes(
        `Operating point: flags from ${text.training.threshold}; clean F1 ${(text.training.testF1 * 100).toFixed(2)}, ham false positives ${fpr}%`,
      ),
    );
  });
});

/**
 * `runPlan` with the full text defence: `normalize: vocabulary` builds the normaliser from
 * the training split's words and saves that vocabulary with the model, and
 * `augment.adversarial` runs a round of attack-and-retrain. The attack stage loads the model
 * with its vocabulary, so it attacks the same defended pipeline the training built; a model
 * directory whose vocabulary is damaged fails the attack stage with a typed error, and one
 * whose vocabulary is gone is trained again.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, unlinkSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { OBFUSCATION_MARKER_PREFIX } from '../src/defenses/normalize-text/normalize.js';
import { loadVocabulary, VOCABULARY_FILE } from '../src/defenses/normalize-text/vocabulary-defence.js';
import { DECISION_THRESHOLD_FILE, loadTextClassifier, readDecisionThreshold } from '../src/models/text/store.js';
import { parsePlanText } from '../src/pipeline/plan/load.js';
import { runPlan, type RunPlanResult } from '../src/pipeline/run/run-plan.js';
import type { RunEvent } from '../src/pipeline/run/types.js';
import { engine, TINY_IMAGE_PLAN_PART } from './fixtures.js';

const PLAN = `
name: tiny-text-vocabulary
seed: 5
threats:
  - { id: linf-0.1, channel: image, technique: gradient, norm: linf, epsilon: 0.1, likelihood: likely, impact: moderate, owner: team-a }
  - { id: spam-edits, channel: text, technique: character, budget: { maxWordFraction: 0.2 }, families: [char-edit, homoglyph, leet], likelihood: likely, impact: minor, owner: team-b }
${TINY_IMAGE_PLAN_PART}text:
  dataset: spam-assassin
  maxChars: 500
  trainLimit: 300
  model: { hidden: 8, epochs: 3, learningRate: 0.01, normalize: vocabulary }
  augment: { threat: spam-edits, phases: [{ epochs: 1, rate: 0 }, { epochs: 2, rate: 0.5 }], adversarial: { rounds: 1, perRound: 12, queries: 60 } }
  attack: { id: greedy, options: { maxQueries: 150 } }
  limit: 8
  examples: 1
criteria:
  cleanAccuracy: 0.1
`;

describe('runPlan with the vocabulary defence and adversarial rounds', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rampart-run-text-vocabulary-'));
  const plan = parsePlanText(PLAN, 'tiny-text-vocabulary.yaml');
  const events: RunEvent[] = [];
  let result: RunPlanResult;

  before(async () => {
    await engine();
    result = await runPlan(plan, { dir, onEvent: (e) => events.push(e) });
  });

  after(() => rm(dir, { recursive: true, force: true }));

  it('saves the training vocabulary with a model that reads the marker codes, after an adversarial round', async () => {
    const text = result.text;
    assert.ok(text);
    const modelDir = join(result.runDir, text.training.modelDir);
    const saved = loadVocabulary(modelDir);
    assert.ok(saved, `no ${VOCABULARY_FILE} in ${modelDir}`);
    assert.equal(saved.synonyms, true);
    assert.ok(saved.vocabulary.size > 500, `vocabulary of ${saved.vocabulary.size} words`);
    const model = await loadTextClassifier(modelDir);
    try {
      assert.equal(model.info.trainedOnNormalizedText, true);
      assert.equal(model.info.featurizer.markerPrefix, OBFUSCATION_MARKER_PREFIX);
    } finally {
      model.dispose();
    }
    const logs = events.flatMap((e) => (e.type === 'stage-log' && e.stage === 'text-train' ? [e.line] : []));
    assert.ok(
      logs.some((m) => /^adversarial round 1: the attack got \d+ of \d+ training texts past the filter; \d+ rewrites added/.test(m)),
      `no adversarial round in the text-train log: ${logs.join(' | ')}`,
    );
    assert.ok(text.training.testAccuracy > 0.85, `test accuracy ${text.training.testAccuracy}`);
    assert.ok(text.attack.cleanAccuracy > 0.7, `clean accuracy ${text.attack.cleanAccuracy}`);
    assert.ok((text.attack.meanQueries['spam-edits'] as number) > 1);
  });

  it('the attack stage refuses a model whose saved vocabulary is damaged, naming the file', async () => {
    const modelDir = join(result.runDir, result.text?.training.modelDir as string);
    writeFileSync(join(modelDir, VOCABULARY_FILE), '{"format": "something else"}');
    const changed = parsePlanText(PLAN.replace('limit: 8', 'limit: 6'), 'tiny-text-vocabulary.yaml');
    await assert.rejects(
      runPlan(changed, { dir }),
      (e: unknown) => e instanceof Error && 'code' in e && e.code === 'E_VOCABULARY_CORRUPT' && e.message.includes(VOCABULARY_FILE),
    );
    assert.ok(existsSync(join(modelDir, 'weights.bin')), 'the model itself is left in place');
  });

  it('a model directory that lost its vocabulary is trained again rather than deployed with another normaliser', async () => {
    const modelDir = join(result.runDir, result.text?.training.modelDir as string);
    unlinkSync(join(modelDir, VOCABULARY_FILE));
    const rerun = await runPlan(plan, { dir });
    const text = rerun.stages.find((s) => s.id === 'text-train');
    assert.equal(text?.status, 'ran');
    assert.ok(loadVocabulary(join(rerun.runDir, rerun.text?.training.modelDir as string)));
    assert.equal(rerun.text?.training.sha256, result.text?.training.sha256, 'the same plan trains the same weights');
    // The threshold file is what a server reads; a directory without it is trained again too.
    const again = join(rerun.runDir, rerun.text?.training.modelDir as string);
    assert.deepEqual(readDecisionThreshold(again), { positiveClass: 'spam', threshold: rerun.text?.training.threshold });
    unlinkSync(join(again, DECISION_THRESHOLD_FILE));
    const third = await runPlan(plan, { dir });
    assert.equal(third.stages.find((s) => s.id === 'text-train')?.status, 'ran');
    assert.ok(readDecisionThreshold(join(third.runDir, third.text?.training.modelDir as string)));
  });
});

/**
 * `runPlan` with a text channel: a tiny image part (an MLP on 300 digits, one epoch) and a
 * spam filter trained on 400 SpamAssassin messages with phased augmentation, behind the
 * normaliser, attacked by the greedy search for two text threats. The text stages run,
 * their robust accuracy joins the candidate's results and the gate, the report shows the
 * text diffs, an unchanged rerun does no work, and a change to the text attack reruns only
 * the text attack and what depends on it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, statSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { getTextTransformation } from '../src/attacks/text/registry.js';
import { parsePlanText } from '../src/pipeline/plan/load.js';
import { loadResults } from '../src/eval/results.js';
import { runPlan, type RunPlanResult } from '../src/pipeline/run/run-plan.js';
import { stageRecordPath } from '../src/pipeline/run/runner.js';
import type { RunEvent } from '../src/pipeline/run/types.js';
import type { TextAttackSet } from '../src/report/html/text-diff.js';
import { escapeHtml } from '../src/report/svg/escape.js';
import { engine, TINY_IMAGE_PLAN_PART } from './fixtures.js';

const PLAN = `
name: tiny-text
seed: 3
threats:
  - { id: linf-0.1, channel: image, technique: gradient, norm: linf, epsilon: 0.1, likelihood: likely, impact: moderate, owner: team-a }
  - { id: spam-typo, channel: text, technique: character, budget: { maxWordFraction: 0.2 }, families: [char-edit, typo], likelihood: likely, impact: minor, owner: team-b }
  - { id: spam-unicode, channel: text, technique: character, budget: { maxWordFraction: 0.2 }, families: [homoglyph, invisible], likelihood: possible, impact: minor, owner: team-b }
${TINY_IMAGE_PLAN_PART}text:
  dataset: spam-assassin
  maxChars: 600
  trainLimit: 400
  model: { hidden: 8, epochs: 4, learningRate: 0.01, normalize: true, decisionThreshold: 0.3 }
  augment: { threat: spam-typo, phases: [{ epochs: 1, rate: 0 }, { epochs: 3, rate: 0.5 }] }
  attack: { id: greedy, options: { maxQueries: 400 } }
  limit: 16
  examples: 2
criteria:
  cleanAccuracy: 0.3
  robustAccuracy: { spam-typo: 0.05, spam-unicode: 0.5 }
`;

const STAGES = ['data', 'baseline', 'attack', 'harden', 'text-train', 'text-attack', 'evaluate', 'gate', 'report', 'register'];

function statuses(result: RunPlanResult): string[] {
  return result.stages.map((s) => `${s.id}:${s.status}`);
}

describe('runPlan with a text channel', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rampart-run-text-'));
  const plan = parsePlanText(PLAN, 'tiny-text.yaml');
  let first: RunPlanResult;

  before(async () => {
    await engine();
    first = await runPlan(plan, { dir });
  });

  after(() => rm(dir, { recursive: true, force: true }));

  it('trains and attacks the text model; its robust accuracy joins the results and the gate', async () => {
    assert.deepEqual(
      statuses(first),
      STAGES.map((s) => `${s}:ran`),
    );
    const text = first.text;
    assert.ok(text);
    assert.equal(text.training.augmented, true);
    assert.equal(text.training.threshold, 0.3, 'the filter flags spam from 0.3, as the plan asks');
    assert.equal(text.training.counts.train, 400);
    assert.match(text.training.sha256, /^[0-9a-f]{64}$/);
    assert.ok(text.training.testAccuracy > 0.85, `text test accuracy ${text.training.testAccuracy}`);
    assert.equal(text.attack.count, 16);
    assert.ok(text.attack.cleanAccuracy > 0.8, `text clean accuracy ${text.attack.cleanAccuracy}`);

    const results = await loadResults(first.files.results);
    assert.deepEqual(Object.keys(results.robustAccuracy).sort(), ['linf-0.1', 'spam-typo', 'spam-unicode']);
    assert.deepEqual(results.unmeasured, {});
    for (const id of ['spam-typo', 'spam-unicode']) {
      const robust = results.robustAccuracy[id] as number;
      assert.equal(robust, text.attack.robustAccuracy[id]);
      assert.ok(robust >= 0 && robust <= text.attack.cleanAccuracy, `${id}: robust ${robust} above clean ${text.attack.cleanAccuracy}`);
      assert.ok((text.attack.meanQueries[id] as number) > 1, `${id} spent no queries`);
    }
    // The typo attack gets through a filter this small; the normaliser the model sits behind
    // undoes homoglyphs and invisible characters, so that threat gets (almost) nowhere. Were
    // the bare model attacked instead, it would.
    assert.ok((results.robustAccuracy['spam-typo'] as number) < text.attack.cleanAccuracy, 'the typo attack never succeeded');
    assert.ok(
      (results.robustAccuracy['spam-unicode'] as number) >= text.attack.cleanAccuracy - 1 / 16,
      `spam-unicode robust ${results.robustAccuracy['spam-unicode']}`,
    );

    const checks = Object.fromEntries(first.gate.checks.map((c) => [c.id, c]));
    assert.equal(checks['robust-accuracy:spam-typo']?.measured, results.robustAccuracy['spam-typo']);
    assert.equal(checks['robust-accuracy:spam-unicode']?.passed, true);
  });

  it('shows the text attacks in the HTML report: each threat, its diffs and edits', async () => {
    const sets = JSON.parse(await readFile(join(first.runDir, first.text?.attack.examples as string), 'utf8')) as TextAttackSet[];
    assert.deepEqual(
      sets.map((s) => s.threat),
      ['spam-typo', 'spam-unicode'],
    );
    const typo = sets[0] as TextAttackSet;
    assert.ok(typo.items.length > 0 && typo.items.length <= 2);
    const html = await readFile(first.files.report, 'utf8');
    assert.match(html, /<h3>spam-typo <span class="muted">on tiny-text\/text<\/span><\/h3>/);
    assert.match(html, /<h3>spam-unicode <span class="muted">on tiny-text\/text<\/span><\/h3>/);
    for (const item of typo.items) {
      assert.notEqual(item.adversarial, item.original);
      assert.equal(item.originalPrediction, item.label);
      assert.deepEqual([item.label, item.adversarialPrediction].sort(), ['ham', 'spam']);
      assert.ok(item.changes.length > 0);
      for (const change of item.changes) {
        // The edit is labelled with its transformation, one of the threat's families.
        assert.ok(['char-edit', 'typo'].includes(getTextTransformation(change.family as string).family), change.family);
        assert.ok(html.includes(`→ <code>${escapeHtml(change.after)}</code>`), `edit ${change.before} → ${change.after} not in the report`);
      }
    }
    assert.ok((html.match(/<td class="diff">[^]*?<\/td>/g) ?? []).some((cell) => cell.includes('<ins>') && cell.includes('<del>')));
  });

  it('an unchanged rerun does no work, text stages included', async () => {
    const weights = join(first.runDir, first.text?.training.modelDir as string, 'weights.bin');
    const weightsTime = statSync(weights).mtimeMs;
    const recordTime = statSync(stageRecordPath(first.runDir, 'text-attack')).mtimeMs;
    const events: RunEvent[] = [];
    const again = await runPlan(plan, { dir, onEvent: (e) => events.push(e) });
    assert.deepEqual(
      statuses(again),
      STAGES.map((s) => `${s}:cached`),
    );
    assert.equal(events.filter((e) => e.type === 'stage-progress').length, 0);
    assert.equal(statSync(weights).mtimeMs, weightsTime);
    assert.equal(statSync(stageRecordPath(first.runDir, 'text-attack')).mtimeMs, recordTime);
    assert.deepEqual(again.text, first.text);
  });

  it('a change to the text attack reruns it and what reads its numbers, not the training', async () => {
    const changed = parsePlanText(PLAN.replace('limit: 16', 'limit: 12'), 'tiny-text.yaml');
    const rerun = await runPlan(changed, { dir });
    assert.deepEqual(statuses(rerun), [
      'data:cached',
      'baseline:cached',
      'attack:cached',
      'harden:cached',
      'text-train:cached',
      'text-attack:ran',
      'evaluate:ran',
      'gate:ran',
      'report:ran',
      'register:ran',
    ]);
    assert.equal(rerun.text?.attack.count, 12);
    assert.equal(rerun.text?.training.sha256, first.text?.training.sha256);
  });
});

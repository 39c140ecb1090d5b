/** What a target without gradients runs: the suite's stages and the attacks it can answer, and the note that says so. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { blackBoxNote, attacksForTarget, hasGradients, suiteForTarget } from './black-box.js';
import { suiteDefinition } from './suite.js';

const whiteBox = { id: 'cnn', differentiable: true } as const;
const scores = { id: 'ort', differentiable: false, access: 'scores' } as const;
const labels = { id: 'api', differentiable: false, access: 'labels' } as const;

test('a score-only target keeps the suite’s Square stage; a white box keeps every stage; a label-only target none', () => {
  const quick = suiteDefinition('standard', 'quick');
  assert.deepEqual(suiteForTarget(quick, whiteBox).suite, quick);
  const forScores = suiteForTarget(quick, scores);
  assert.deepEqual(
    forScores.suite.stages.map((s) => s.attack),
    ['square'],
  );
  assert.deepEqual(forScores.dropped, ['apgd-ce', 'apgd-t', 'fab-t']);
  assert.equal(forScores.suite.variant, 'quick');
  assert.deepEqual(suiteForTarget(quick, labels).suite.stages, []);
});

test('attacks the target can answer are kept, the rest named; the note says the numbers are black-box upper bounds', () => {
  assert.deepEqual(attacksForTarget(['fgsm', 'pgd', 'square', 'hsj'], scores), { runnable: ['square', 'hsj'], dropped: ['fgsm', 'pgd'] });
  assert.deepEqual(attacksForTarget(['square', 'hsj'], labels), { runnable: ['hsj'], dropped: ['square'] });
  assert.equal(hasGradients(whiteBox), true);
  assert.equal(hasGradients(scores), false);
  assert.match(blackBoxNote(scores), /'ort' answers scores only .*upper bound from black-box attacks only/);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { textThreatModel, TEXT_FAMILIES } from '../../threats/text-threat.js';
import { charEditDistance, countWords, tokenize, wordTokenIndices } from './tokens.js';
import { randomPerturbation, randomPerturbationDetailed } from './perturb.js';

const TEXT = 'Congratulations winner! Claim your FREE prize today, visit http://x.example/win to collect your money now.';

test('random perturbation stays in budget, keeps protected tokens and is deterministic by seed', () => {
  const words = wordTokenIndices(tokenize(TEXT)).map((i) => tokenize(TEXT)[i]?.text as string);
  for (const family of TEXT_FAMILIES) {
    const threat = textThreatModel({
      maxWordFraction: 0.25,
      maxCharEditsPerWord: 2,
      families: [family],
      protectedTokens: ['http://x.example/win', 'prize'],
    });
    const limit = Math.floor(0.25 * words.length);
    let changedSomething = false;
    for (let seed = 0; seed < 6; seed++) {
      const a = randomPerturbationDetailed(TEXT, threat, seed);
      assert.deepEqual(randomPerturbationDetailed(TEXT, threat, seed), a, `${family} seed ${seed}`);
      assert.equal(randomPerturbation(TEXT, threat, seed), a.text);
      assert.ok(a.changes.length <= limit, `${family}: ${a.changes.length} > ${limit}`);
      assert.equal(new Set(a.changes.map((c) => c.index)).size, a.changes.length, 'one change per word');
      for (const c of a.changes) {
        assert.equal(words[c.index], c.from);
        assert.notEqual(c.to, c.from);
        assert.ok(!['prize', 'http://x.example/win'].includes(c.from.toLowerCase()), 'protected');
        if (family !== 'synonym') assert.ok(charEditDistance(c.from, c.to) <= 2);
      }
      if (a.changes.length > 0) {
        changedSomething = true;
        assert.notEqual(a.text, TEXT);
        assert.ok(a.text.includes('http://x.example/win') && a.text.includes('prize'));
      }
    }
    assert.ok(changedSomething, family);
  }
});

test('a text too short for the budget comes back unchanged', () => {
  const threat = textThreatModel({ maxWordFraction: 0.2, maxCharEditsPerWord: 1, families: ['char-edit'] });
  assert.equal(countWords('free money'), 2);
  assert.equal(randomPerturbation('free money', threat, 3), 'free money');
  assert.equal(randomPerturbation('', threat, 3), '');
});

test('seeds differ', () => {
  const threat = textThreatModel({ maxWordFraction: 0.5, maxCharEditsPerWord: 1, families: ['char-edit', 'homoglyph', 'split'] });
  const outputs = new Set([0, 1, 2, 3, 4, 5].map((s) => randomPerturbation(TEXT, threat, s)));
  assert.ok(outputs.size >= 4);
});

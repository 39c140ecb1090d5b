import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { charEditDistance, countWords, joinTokens, protectedMask, tokenize, wordTokenIndices } from './tokens.js';

test('tokenize then join restores any text exactly', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 60 }), (text) => joinTokens(tokenize(text)) === text),
    { numRuns: 300, seed: 11 },
  );
  const samples = [
    '',
    '   ',
    'Win $5, now!',
    "don't stop\n\tme",
    'Visit http://x.example/win?a=1. Now',
    'mail me@x.co.uk!',
    'fr\u200Bee мир 𝐟ree',
  ];
  for (const s of samples) assert.equal(joinTokens(tokenize(s)), s);
});

test('words, separators, urls and invisible characters', () => {
  const tokens = tokenize('Win $5, now! Visit http://x.example/win. fr\u200Bee');
  const words = wordTokenIndices(tokens).map((i) => tokens[i]?.text);
  assert.deepEqual(words, ['Win', '5', 'now', 'Visit', 'http://x.example/win', 'fr\u200Bee']);
  assert.equal(countWords("don't panic, it's fine"), 4);
  assert.ok(
    tokens.every((t, i) => i === 0 || t.kind !== tokens[i - 1]?.kind),
    'words and separators alternate',
  );
});

test('protected tokens and phrases match whole words, case-insensitively', () => {
  const tokens = tokenize('Free freedom from ACME Corp, acme corporation');
  const mask = protectedMask(tokens, ['free', 'Acme Corp']);
  const flagged = tokens.filter((_, i) => mask[i]).map((t) => t.text);
  assert.deepEqual(flagged, ['Free', 'ACME', 'Corp']);
  assert.deepEqual(
    protectedMask(tokens, undefined),
    tokens.map(() => false),
  );
});

test('charEditDistance counts code points and adjacent swaps as one edit', () => {
  assert.equal(charEditDistance('free', 'free'), 0);
  assert.equal(charEditDistance('free', 'frее'), 2);
  assert.equal(charEditDistance('free', 'rfee'), 1);
  assert.equal(charEditDistance('free', 'fr ee'), 1);
  assert.equal(charEditDistance('free', '𝐟ree'), 1);
  assert.equal(charEditDistance('', 'abc'), 3);
});

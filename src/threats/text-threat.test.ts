import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ThreatError } from '../core/errors.js';
import { TEXT_FAMILIES, maxChangedWords, textThreatModel } from './text-threat.js';

const base = { maxWordFraction: 0.2, maxCharEditsPerWord: 2, families: ['split', 'homoglyph'] };

test('a stable id from the budget and the families in canonical order', () => {
  const a = textThreatModel(base);
  const b = textThreatModel({ ...base, families: ['homoglyph', 'split', 'homoglyph'] });
  assert.equal(a.id, 'text-w0.2-c2-homoglyph+split');
  assert.equal(b.id, a.id);
  assert.deepEqual(a.families, ['homoglyph', 'split']);
  const p = textThreatModel({ ...base, protectedTokens: ['ACME', 'acme', 'http://x.example'] });
  assert.match(p.id, /^text-w0\.2-c2-homoglyph\+split-p[0-9a-f]{8}$/);
  assert.equal(textThreatModel({ ...base, protectedTokens: ['http://x.example', 'Acme'] }).id, p.id);
  assert.deepEqual(p.budget.protectedTokens, ['acme', 'http://x.example']);
  assert.equal(textThreatModel({ ...base, id: 'mine' }).id, 'mine');
  assert.equal(textThreatModel({ ...base, families: TEXT_FAMILIES }).families.length, 8);
});

test('validation names the field and the valid range or choices', () => {
  const bad: Array<[Record<string, unknown>, string, RegExp]> = [
    [{ maxWordFraction: 0 }, 'E_TEXT_WORD_FRACTION', /maxWordFraction.*\(0, 1\]/],
    [{ maxWordFraction: 1.5 }, 'E_TEXT_WORD_FRACTION', /\(0, 1\]/],
    [{ maxWordFraction: Number.NaN }, 'E_TEXT_WORD_FRACTION', /maxWordFraction/],
    [{ maxCharEditsPerWord: 0 }, 'E_TEXT_CHAR_EDITS', /maxCharEditsPerWord.*\[1, 10\]/],
    [{ maxCharEditsPerWord: 1.5 }, 'E_TEXT_CHAR_EDITS', /integer/],
    [{ maxWords: 0 }, 'E_TEXT_MAX_WORDS', /maxWords.*\[1, 10000\]/],
    [{ maxWords: 2.5 }, 'E_TEXT_MAX_WORDS', /integer/],
    [{ families: [] }, 'E_TEXT_FAMILY', /'char-edit'/],
    [{ families: ['homoglyph', 'emoji'] }, 'E_TEXT_FAMILY', /'emoji'.*'synonym'/],
    [{ protectedTokens: [''] }, 'E_TEXT_PROTECTED', /protectedTokens/],
  ];
  for (const [patch, code, message] of bad) {
    assert.throws(
      () => textThreatModel({ ...base, ...patch } as never),
      (e: unknown) => e instanceof ThreatError && e.code === code && message.test(e.message) && e.kind === 'threat',
      JSON.stringify(patch),
    );
  }
});

test('the word budget is floor(fraction · words)', () => {
  const t = textThreatModel({ ...base, maxWordFraction: 0.3 });
  assert.equal(maxChangedWords(t, 10), 3);
  assert.equal(maxChangedWords(t, 3), 0);
  assert.equal(maxChangedWords(textThreatModel({ ...base, maxWordFraction: 1 }), 7), 7);
});

test('maxWords caps the word budget per message: min(floor(fraction · words), maxWords)', () => {
  const t = textThreatModel({ ...base, maxWordFraction: 0.2, maxWords: 10 });
  assert.equal(t.id, 'text-w0.2-m10-c2-homoglyph+split');
  assert.equal(t.budget.maxWords, 10);
  assert.equal(maxChangedWords(t, 30), 6);
  assert.equal(maxChangedWords(t, 50), 10);
  assert.equal(maxChangedWords(t, 300), 10);
  assert.equal(maxChangedWords(textThreatModel(base), 300), 60, 'no cap without maxWords');
  assert.ok(!('maxWords' in textThreatModel(base).budget));
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { createRng } from '../../../core/rng.js';
import { charEditDistance } from '../tokens.js';
import { getTextTransformation, textTransformationIds, textTransformations } from '../registry.js';
import { lookupLemma, likelyPos, releaseWordNet, synonymsOf } from '../wordnet.js';
import { INVISIBLE_CHARACTERS, LEET_MAP, keyboardNeighbours } from './index.js';
import { UsageError } from '../../../core/errors.js';

const { rectifyConfusion } = createRequire(import.meta.url)('unicode-confusables') as { rectifyConfusion: (s: string) => string };
const WORDS = ['free', 'winner', 'Money', 'prize', 'URGENT', 'quickly', 'cities', 'ok'];

test('ids and versions are stable and unique', () => {
  const table = Object.fromEntries(textTransformations().map((t) => [t.id, `${t.family}@${t.version}`]));
  assert.deepEqual(table, {
    'char-swap': 'char-edit@1',
    'char-insert': 'char-edit@1',
    'char-delete': 'char-edit@1',
    'char-substitute': 'char-edit@1',
    'typo-keyboard': 'typo@1',
    homoglyph: 'homoglyph@1',
    invisible: 'invisible@1',
    leet: 'leet@1',
    'split-space': 'split@1',
    'split-punct': 'split@1',
    'case-flip': 'case@1',
    'synonym-wordnet': 'synonym@1',
  });
  for (const t of textTransformations()) {
    assert.ok(t.description.length > 10, t.id);
    assert.ok(Object.isFrozen(t), t.id);
  }
  assert.throws(
    () => getTextTransformation('nope'),
    (e: unknown) => e instanceof UsageError && e.code === 'E_UNKNOWN_TRANSFORMATION' && e.message.includes("'homoglyph'"),
  );
  assert.equal(new Set(textTransformationIds()).size, textTransformationIds().length);
});

for (const t of textTransformations()) {
  test(`${t.id}: candidates differ, stay within budget and are deterministic by seed`, () => {
    let produced = 0;
    for (const maxCharEdits of [1, 2]) {
      for (const [w, word] of WORDS.entries()) {
        const seed = 100 * maxCharEdits + w;
        const a = t.candidates(word, createRng(seed), { limit: 6, maxCharEdits });
        const b = t.candidates(word, createRng(seed), { limit: 6, maxCharEdits });
        assert.deepEqual(a, b, `${t.id} not deterministic for ${word}`);
        assert.ok(a.length <= 6);
        assert.equal(new Set(a).size, a.length, 'distinct');
        for (const c of a) {
          assert.notEqual(c, word);
          if (t.family !== 'synonym')
            assert.ok(charEditDistance(word, c) <= maxCharEdits, `${t.id}: ${word} -> ${c} exceeds ${maxCharEdits} edits`);
        }
        produced += a.length;
      }
    }
    assert.ok(produced > 0, `${t.id} never produced a candidate`);
    assert.deepEqual(t.candidates('free', createRng(1), { limit: 0, maxCharEdits: 1 }), []);
  });
}

test('different seeds give different character-level samples', () => {
  const t = getTextTransformation('char-substitute');
  const runs = new Set([1, 2, 3, 4].map((s) => t.candidates('winner', createRng(s), { limit: 3, maxCharEdits: 1 }).join('|')));
  assert.ok(runs.size > 1);
});

test('each family does what it says', () => {
  const opts = { limit: 8, maxCharEdits: 2 };
  for (const c of getTextTransformation('homoglyph').candidates('free', createRng(3), opts)) {
    assert.equal(rectifyConfusion(c), 'free', `${c} should fold back to free under UTS #39`);
    assert.ok([...c].some((ch) => (ch.codePointAt(0) as number) > 0x7f));
  }
  const invisible = new RegExp(`[${INVISIBLE_CHARACTERS.join('')}]`, 'g');
  for (const c of getTextTransformation('invisible').candidates('free', createRng(3), opts)) assert.equal(c.replace(invisible, ''), 'free');
  for (const c of getTextTransformation('split-space').candidates('free', createRng(3), opts)) {
    assert.equal(c.replace(/ /g, ''), 'free');
    assert.ok(!c.startsWith(' ') && !c.endsWith(' '));
  }
  for (const c of getTextTransformation('split-punct').candidates('free', createRng(3), opts))
    assert.match(c, /^f[^a-z]*r[^a-z]*e[^a-z]*e$/);
  for (const c of getTextTransformation('case-flip').candidates('free', createRng(3), opts)) assert.equal(c.toLowerCase(), 'free');
  for (const c of getTextTransformation('leet').candidates('spam', createRng(3), opts)) {
    [...c].forEach((ch, i) => assert.ok(ch === 'spam'[i] || LEET_MAP['spam'[i] as string]?.includes(ch), c));
  }
  for (const c of getTextTransformation('typo-keyboard').candidates('free', createRng(3), { limit: 8, maxCharEdits: 1 })) {
    const i = [...c].findIndex((ch, k) => ch !== 'free'[k]);
    assert.ok(keyboardNeighbours('free'[i] as string).includes(c[i] as string), c);
  }
  assert.deepEqual(getTextTransformation('char-delete').candidates('a', createRng(1), opts), []);
  assert.deepEqual(getTextTransformation('split-space').candidates('a', createRng(1), opts), []);
});

test('synonyms keep the part of speech WordNet finds most used', () => {
  assert.equal(likelyPos('free')?.entry.pos, 'adj');
  const free = getTextTransformation('synonym-wordnet').candidates('free', createRng(1), { limit: 10, maxCharEdits: 1 });
  assert.ok(free.includes('gratis'), free.join(','));
  for (const s of free) assert.ok(lookupLemma(s, 'adj'), `${s} is not an adjective`);
  assert.ok(!free.includes('liberate'), 'verb senses of free must not leak in');
  const plural = getTextTransformation('synonym-wordnet').candidates('Winners', createRng(1), { limit: 5, maxCharEdits: 1 });
  assert.ok(plural.includes('Victors'), plural.join(','));
  assert.deepEqual(getTextTransformation('synonym-wordnet').candidates('the', createRng(1), { limit: 5, maxCharEdits: 1 }), []);
  assert.deepEqual(getTextTransformation('synonym-wordnet').candidates('qzxv', createRng(1), { limit: 5, maxCharEdits: 1 }), []);
});

test('WordNet caches can be released and reload on demand', () => {
  const before = synonymsOf('prize').synonyms;
  assert.ok(before.includes('award'), before.join(','));
  releaseWordNet();
  assert.deepEqual(synonymsOf('prize').synonyms, before);
  assert.equal(synonymsOf('cities').synonyms[0], 'metropolises');
});

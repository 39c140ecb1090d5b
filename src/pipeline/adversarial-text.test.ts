import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mixAdversarialTexts } from './adversarial-text.js';
import type { ResolvedAdversarialSet } from './refresh-adversarial.js';

const set = (channel: 'image' | 'text', labels: number[], weight = 1): ResolvedAdversarialSet => ({
  digest: 'd'.repeat(64),
  name: 's',
  weight,
  set: {
    kind: 'rampart.adversarial-set',
    schemaVersion: 1,
    channel,
    shape: channel === 'image' ? [2] : null,
    items: labels.map((label, i) =>
      channel === 'text'
        ? { digest: String(i).repeat(64).slice(0, 64), label, threat: null, source: 'flag', text: `t${i}` }
        : { digest: String(i).repeat(64).slice(0, 64), label, threat: null, source: 'flag', x: [0, 1] },
    ),
  },
});
const train = { name: 'tr', texts: ['a', 'b'], labels: [0, 1], classes: ['ham', 'spam'] };

test('text sets are appended round(weight) times with their labels; no set leaves the split as it was', () => {
  const mixed = mixAdversarialTexts(train, [set('text', [1, 0], 1.6)]);
  assert.deepEqual(mixed.texts, ['a', 'b', 't0', 't1', 't0', 't1']);
  assert.deepEqual(mixed.labels, [0, 1, 1, 0, 1, 0]);
  assert.deepEqual(mixed.classes, train.classes);
  assert.equal(mixAdversarialTexts(train, []), train);
});

test('an image set or a label outside the classes is refused with the fix', () => {
  assert.throws(() => mixAdversarialTexts(train, [set('image', [0])]), { code: 'E_ADVSET_SHAPE' });
  assert.throws(
    () => mixAdversarialTexts(train, [set('text', [2])]),
    (e: Error & { code?: string }) => {
      assert.equal(e.code, 'E_ADVSET_LABEL');
      assert.match(e.message, /2 classes \(ham, spam\)/);
      return true;
    },
  );
});

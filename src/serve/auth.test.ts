/** The verified-secret shortcut in `KeyStore.tryAuthenticate`: a key that passed once passes at a compare's cost, nothing else does. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyStore, generateApiKey, hashApiKey } from './auth.js';

const flip = (key: string, at: number): string => `${key.slice(0, at)}${key[at] === 'A' ? 'B' : 'A'}${key.slice(at + 1)}`;

for (const kind of ['sha256', 'scrypt'] as const) {
  test(`tryAuthenticate (${kind}): after a key passed, wrong secrets for its id and its secret under another id still fail`, async () => {
    const a = generateApiKey();
    const b = generateApiKey();
    const hash = async (key: string): Promise<string> => hashApiKey(key, kind);
    const keys = new KeyStore([
      { id: a.id, role: 'operator', hash: await hash(a.key) },
      { id: b.id, role: 'predict', hash: await hash(b.key) },
    ]);
    // scrypt keys pass the slow check once; sha256 keys pass the fast one at once.
    if (kind === 'scrypt') assert.equal((await keys.authenticate(a.key)).keyId, a.id);
    for (let i = 0; i < 3; i++) assert.deepEqual(keys.tryAuthenticate(a.key), { keyId: a.id, role: 'operator' });
    const secretOfA = a.key.slice(-43);
    for (const wrong of [
      flip(a.key, a.key.length - 1),
      flip(a.key, a.key.length - 43),
      `rk_${b.id}_${secretOfA}`,
      `rk_${a.id}x_${secretOfA}`,
    ]) {
      assert.equal(keys.tryAuthenticate(wrong), undefined, wrong);
      await assert.rejects(keys.authenticate(wrong), /not valid/);
    }
    assert.deepEqual(keys.tryAuthenticate(a.key), { keyId: a.id, role: 'operator' });
  });
}

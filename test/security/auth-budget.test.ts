/** The failed-key budget itself (issue 20.10): fixed windows per address group, bounded memory. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AuthFailures, KeyStore, authenticateFrom, generateApiKey, hashApiKey } from '../../src/serve/auth.js';

test('AuthFailures: blocks past the budget until the window ends, groups IPv6 by /64, forgets the least recent', () => {
  let now = 0;
  const failures = new AuthFailures({ max: 3, timeWindowMs: 10_000 }, { maxAddresses: 2, now: () => now });
  for (let i = 0; i < 3; i++) {
    assert.equal(failures.blocked(`2001:db8:0:1::${i}`), undefined);
    failures.record(`2001:db8:0:1::${i}`);
  }
  assert.equal(failures.blocked('2001:db8:0:1:ffff::9'), 10);
  assert.equal(failures.blocked('2001:db8:0:2::1'), undefined);
  now = 9_500;
  assert.equal(failures.blocked('2001:db8:0:1::1'), 1);
  now = 10_000;
  assert.equal(failures.blocked('2001:db8:0:1::1'), undefined);
  for (let i = 0; i < 3; i++) failures.record('198.51.100.1');
  failures.record('198.51.100.2');
  failures.record('198.51.100.3');
  // Two addresses at most: the blocked one, least recently failing, was forgotten.
  assert.equal(failures.blocked('198.51.100.1'), undefined);
});

test('authenticateFrom: counts wrong keys, not missing ones, and refuses a blocked address before checking the key', async () => {
  const { id, key } = generateApiKey();
  const keys = new KeyStore([{ id, role: 'predict', hash: await hashApiKey(key) }]);
  const failures = new AuthFailures({ max: 2, timeWindowMs: 60_000 });
  const code = async (presented: string | undefined): Promise<string> =>
    authenticateFrom(keys, presented, '203.0.113.4', failures).then(
      () => 'ok',
      (e: { code: string }) => e.code,
    );
  assert.equal(await code(undefined), 'E_AUTH_REQUIRED');
  assert.equal(await code(undefined), 'E_AUTH_REQUIRED');
  assert.equal(await code(key), 'ok');
  assert.equal(await code(`${key.slice(0, -1)}${key.endsWith('x') ? 'y' : 'x'}`), 'E_AUTH_INVALID');
  assert.equal(await code('rk_nope'), 'E_AUTH_INVALID');
  assert.equal(await code(key), 'E_AUTH_THROTTLED');
});

/**
 * Issue 20.10 against a real `rampart serve` with scrypt keys on its default configuration:
 * a wrong secret for a real key id costs what an unknown id costs (no id oracle), and
 * failed authentications are counted against the address and refused with 429 past the
 * budget, whatever X-Forwarded-For says when no proxy is trusted.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { addKey, modelDir, startServe, writeConfig, QUIET, type Served } from './auth-serve.js';

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

describe('failed authentication (rampart serve, scrypt keys, default auth settings)', () => {
  let server: Served | undefined;
  let key = '';

  before(async () => {
    const { dir, model } = await modelDir('rampart-auth-');
    const file = join(dir, 'keys.json');
    key = addKey(file, 'predict', 'scrypt');
    const config = await writeConfig(dir, 'serve.json', { ...QUIET, layers: { ood: false, abstain: false } });
    server = await startServe(['--model', model, '--config', config, '--keys', file]);
  });

  after(async () => {
    await server?.stop();
  });

  const models = async (
    presented: string,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; code?: string; ms: number; retryAfter: string | null }> => {
    const start = performance.now();
    const res = await fetch(`${server?.url}/v1/models`, { headers: { authorization: `Bearer ${presented}`, ...headers } });
    const ms = performance.now() - start;
    const json = (await res.json()) as { error?: { code: string } };
    return { status: res.status, ...(json.error ? { code: json.error.code } : {}), ms, retryAfter: res.headers.get('retry-after') };
  };

  test('a wrong secret for a real key id costs what an unknown key id costs', async () => {
    assert.equal((await models(key)).status, 200);
    const id = /^rk_([a-z0-9]+)_/.exec(key)?.[1] as string;
    const secret = 'A'.repeat(43);
    const wrongSecret: number[] = [];
    const unknownId: number[] = [];
    // Interleaved, so load on the machine hits both alike; 12 failures stay under the default budget of 30.
    for (let i = 0; i < 6; i++) {
      const w = await models(`rk_${id}_${secret}`);
      const u = await models(`rk_${'0'.repeat(15)}${i}_${secret}`);
      assert.equal(w.code, 'E_AUTH_INVALID');
      assert.equal(u.code, 'E_AUTH_INVALID');
      wrongSecret.push(w.ms);
      unknownId.push(u.ms);
    }
    // Before the fix an unknown id answered in ~2 ms and a wrong secret in ~50 ms (scrypt).
    const [w, u] = [median(wrongSecret), median(unknownId)];
    assert.ok(u >= 0.6 * w && w >= 0.6 * u, `median ms: wrong secret ${w.toFixed(1)}, unknown id ${u.toFixed(1)}`);
  });

  test('past the failure budget an address gets 429 for every key, and X-Forwarded-For does not reset it', async () => {
    const statuses: Array<{ status: number; code?: string; retryAfter: string | null }> = [];
    for (let i = 0; i < 60; i++) {
      const r = await models(`rk_${'1'.repeat(14)}${String(i).padStart(2, '0')}_${'B'.repeat(43)}`, {
        'x-forwarded-for': `203.0.113.${i}`,
      });
      statuses.push(r);
      if (r.status === 429) break;
    }
    const first = statuses.findIndex((s) => s.status === 429);
    // 12 failures in the first test plus these: the budget of 30 per minute runs out within 30 tries.
    assert.ok(first >= 0 && first <= 30, `first 429 at try ${first + 1}: ${statuses.map((s) => s.status).join(',')}`);
    for (const s of statuses.slice(0, first)) assert.equal(s.status, 401);
    assert.equal(statuses[first]?.code, 'E_AUTH_THROTTLED');
    assert.ok(Number(statuses[first]?.retryAfter) >= 1);
    // The right key is refused too while the address is over its budget.
    const right = await models(key);
    assert.equal(right.status, 429);
    assert.equal(right.code, 'E_AUTH_THROTTLED');
  });
});

/**
 * The console in process (no browser needed) on a registry built by real runs: roles,
 * CSRF, changes going through the audited governance functions, audit paging and search,
 * and the chain status catching an edited entry.
 */
import Database from 'better-sqlite3';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildConsole } from '../src/console/app.js';
import { openGovernance, type Governance } from '../src/governance/index.js';
import { KeyStore } from '../src/serve/auth.js';
import { seedConsoleRegistry, type ConsoleSeed } from './console-seed.js';

const form = (fields: Record<string, string>): { headers: Record<string, string>; payload: string } => ({
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  payload: new URLSearchParams(fields).toString(),
});

describe('console app', () => {
  let seed: ConsoleSeed;
  let gov: Governance;
  let app: FastifyInstance;
  const as = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });

  before(async () => {
    seed = await seedConsoleRegistry();
    gov = openGovernance(seed.dir, { mustExist: true, actor: 'rampart-console' });
    app = await buildConsole({ gov, keys: await KeyStore.fromFile(seed.keysFile) });
  });
  after(async () => {
    await app?.close();
    gov?.close();
    if (seed) rmSync(seed.root, { recursive: true, force: true });
  });

  it('sends a browser without a session to sign in, and refuses a wrong key', async () => {
    const page = await app.inject({ url: '/runs' });
    assert.equal(page.statusCode, 303);
    assert.equal(page.headers.location, '/login?next=%2Fruns');
    const wrong = await app.inject({ method: 'POST', url: '/login', ...form({ key: 'rk_0000000000000000_nope' }) });
    assert.equal(wrong.statusCode, 401);
  });

  it('signs in with a key and then needs the session CSRF token on every form', async () => {
    const login = await app.inject({ method: 'POST', url: '/login', ...form({ key: seed.adminKey, next: '/risks' }) });
    assert.equal(login.statusCode, 303);
    assert.equal(login.headers.location, '/risks');
    const cookie = String(login.headers['set-cookie']).split(';')[0] as string;
    const risks = await app.inject({ url: '/risks', headers: { cookie } });
    assert.equal(risks.statusCode, 200);
    const csrf = /name="csrf" value="([^"]+)"/.exec(risks.body)?.[1] as string;
    const risk = gov.risks.list()[0];
    assert.ok(risk && csrf);
    const forged = await app.inject({
      method: 'POST',
      url: `/risks/${risk.id}/status`,
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ status: 'accepted', reason: 'x', csrf: 'forged' }).toString(),
    });
    assert.equal(forged.statusCode, 403);
    assert.equal(gov.risks.get(risk.id).status, risk.status);
    const ok = await app.inject({
      method: 'POST',
      url: `/risks/${risk.id}/status`,
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ status: 'accepted', reason: 'compensating control in place', csrf }).toString(),
    });
    assert.equal(ok.statusCode, 303);
    assert.equal(gov.risks.get(risk.id).status, 'accepted');
    const entry = gov.audit.list({ subject: risk.id }).at(-1);
    assert.equal(entry?.action, 'risk.update');
    assert.match(JSON.stringify(entry?.details), /compensating control in place \(console:ada\)/);
  });

  it('lets an operator read but not change', async () => {
    assert.equal((await app.inject({ url: '/audit', headers: as(seed.operatorKey) })).statusCode, 200);
    const vuln = gov.vulnerabilities.list()[0];
    assert.ok(vuln, 'the failing linf-0.2 criterion filed a vulnerability');
    const res = await app.inject({
      method: 'POST',
      url: `/vulnerabilities/${vuln.id}/status`,
      ...{ ...form({ status: 'fixed', reason: 'retrained' }), headers: { ...form({}).headers, ...as(seed.operatorKey) } },
    });
    assert.equal(res.statusCode, 403);
    assert.equal(gov.vulnerabilities.get(vuln.id).status, 'open');
    const admin = await app.inject({
      method: 'POST',
      url: `/vulnerabilities/${vuln.id}/status`,
      ...{ ...form({ status: 'fixed', reason: 'retrained' }), headers: { ...form({}).headers, ...as(seed.adminKey) } },
    });
    assert.equal(admin.statusCode, 303);
    assert.equal(gov.vulnerabilities.get(vuln.id).status, 'fixed');
  });

  it("serves a run's stored report sandboxed, and only a report", async () => {
    const report = gov.registry.list({ kind: 'report' })[0];
    assert.ok(report);
    const res = await app.inject({ url: `/reports/${report.digest}`, headers: as(seed.operatorKey) });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-security-policy']), /^sandbox;/);
    assert.match(res.body, /data:image\/png;base64,/, 'the adversarial examples are inlined images');
    const risks = await app.inject({ url: '/risks', headers: as(seed.operatorKey) });
    assert.ok(risks.body.includes(`/reports/${report.digest}`) || gov.vulnerabilities.list().length === 0);
    // The failing evaluation's adversarial examples, queued for review, are shown as its evidence.
    assert.match(
      risks.body,
      /aria-label="Adversarial examples">\s*<figure class="inline-figure">\s*<img\s+class="pixelated"\s+src="data:image\/png;base64,/,
    );
    const model = gov.registry.list({ kind: 'model' })[0] as { digest: string };
    assert.equal((await app.inject({ url: `/reports/${model.digest}`, headers: as(seed.operatorKey) })).statusCode, 400);
  });

  it('shows a staged rollout in progress on the monitor until it ends, and the stored snapshots', async () => {
    const monitor = async (): Promise<string> => (await app.inject({ url: '/monitor', headers: as(seed.operatorKey) })).body;
    const before = await monitor();
    assert.match(before, /No staged rollout in progress/);
    assert.match(before, /30 snapshots/);
    assert.match(before, /confidence<\/td>\s*<td>0\.340<\/td>\s*<td><strong>drifting<\/strong>/);
    gov.audit.append({ action: 'rollout.start', subject: 'cand123456789', details: { phases: 2 } });
    gov.audit.append({ action: 'rollout.advance', subject: 'cand123456789', details: { from: 'shadow', to: 'canary' } });
    assert.match(await monitor(), /Rollout of <strong>cand123456789<\/strong> in progress[\s\S]*rollout\.advance/);
    gov.audit.append({ action: 'rollout.promote', subject: 'cand123456789', details: {} });
    assert.match(await monitor(), /No staged rollout in progress/);
  });

  it('promotes by compare-and-set from the digest the page showed, refuses a stale one, and rolls back', async () => {
    const production = gov.registry.resolveTag('production') as string;
    const candidate = gov.registry.resolveTag('candidate') as string;
    const post = (url: string, fields: Record<string, string>) =>
      app.inject({ method: 'POST', url, headers: { ...form({}).headers, ...as(seed.adminKey) }, payload: form(fields).payload });
    // Another admin moved production since this page was rendered: the stale form is refused.
    const stale = await post(`/models/${candidate}/promote`, { tag: 'production', reason: 'ship', 'from.production': candidate });
    assert.ok(stale.statusCode >= 400 && stale.statusCode < 500, String(stale.statusCode));
    assert.equal(gov.registry.resolveTag('production'), production);
    const ok = await post(`/models/${candidate}/promote`, { tag: 'production', reason: 'ship', 'from.production': production });
    assert.equal(ok.statusCode, 303);
    assert.equal(gov.registry.resolveTag('production'), candidate);
    const back = await post('/tags/production/rollback', { from: candidate, reason: 'canary dropped' });
    assert.equal(back.statusCode, 303);
    assert.equal(gov.registry.resolveTag('production'), production);
    const last = gov.registry.tagHistory('production').at(-1);
    assert.deepEqual([last?.action, last?.actor, last?.reason], ['rollback', 'console:ada', 'canary dropped']);
  });

  it('pages and searches the audit log', async () => {
    for (let i = 0; i < 60; i++) gov.audit.append({ action: 'bench.note', subject: `needle-${i}`, details: { i } });
    const first = await app.inject({ url: '/audit', headers: as(seed.operatorKey) });
    const older = /href="\/audit\?before=(\d+)"/.exec(first.body)?.[1];
    assert.ok(older, 'an Older link');
    const second = await app.inject({ url: `/audit?before=${older}`, headers: as(seed.operatorKey) });
    assert.ok(!second.body.includes(`<td>${Number(older)}</td>`) && second.body.includes(`<td>${Number(older) - 1}</td>`));
    const search = await app.inject({ url: '/audit?q=needle-42', headers: as(seed.operatorKey) });
    assert.equal(search.body.match(/needle-42/g)?.length, 2, 'the search box and the one matching entry');
  });

  it('reports a broken chain when an entry is edited behind its back', async () => {
    const status = async (): Promise<string> => {
      for (let i = 0; i < 50; i++) {
        const body = (await app.inject({ url: '/audit', headers: as(seed.operatorKey) })).body;
        if (!body.includes('Verifying')) return body;
        await new Promise((r) => setImmediate(r));
      }
      throw new Error('chain verification did not finish');
    };
    const intact = await status();
    assert.match(intact, /Intact/);
    assert.match(intact, /Signed head: entry \d+, key [0-9a-f]{16}, signature\s+valid/);
    const db = new Database(join(seed.dir, 'rampart.db'));
    const seq = (db.prepare('SELECT MAX(seq) AS s FROM audit_log').get() as { s: number }).s;
    gov.audit.append({ action: 'late', subject: 'x' });
    db.prepare("UPDATE audit_log SET actor = 'mallory' WHERE seq = ?").run(seq + 1);
    db.close();
    assert.match(await status(), new RegExp(`Broken at entry ${seq + 1}`));
  });
});

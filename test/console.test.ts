/**
 * The operator console as a person uses it: a real `rampart console` process on a registry
 * built by real runs, driven with Debian's Chromium through playwright-core. Every page loads
 * without console errors; a run named `<script>…` shows as text; promoting needs the admin
 * role; axe finds no serious or critical accessibility violation. Skipped (with a message)
 * only when Chromium is not installed.
 */
import { AxeBuilder } from '@axe-core/playwright';
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { openGovernance } from '../src/governance/index.js';
import { startConsole } from './console-process.js';
import { HOSTILE_NAME, seedConsoleRegistry, type ConsoleSeed } from './console-seed.js';

const CHROMIUM = '/usr/bin/chromium';
const PAGES = ['/', '/runs', '/models', '/risks', '/monitor', '/review', '/audit'];
const skip = existsSync(CHROMIUM) ? false : `Chromium is not installed at ${CHROMIUM} (apt-get install chromium); browser tests skipped`;

async function signIn(page: Page, url: string, key: string): Promise<void> {
  await page.goto(`${url}/login`);
  await page.fill('#key', key);
  await Promise.all([page.waitForURL(`${url}/`), page.click('button[type=submit]')]);
}

describe('rampart console in a browser', { skip }, () => {
  let seed: ConsoleSeed;
  let server: { url: string; stop(): Promise<void> };
  let browser: Browser;

  before(async () => {
    seed = await seedConsoleRegistry();
    server = await startConsole(seed);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    if (seed) rmSync(seed.root, { recursive: true, force: true });
  });

  it('loads every page without console errors, and shows a hostile run name as text', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    page.on('pageerror', (e) => errors.push(String(e)));
    await signIn(page, server.url, seed.operatorKey);
    for (const path of PAGES) {
      const res = await page.goto(`${server.url}${path}`);
      assert.equal(res?.status(), 200, path);
      assert.ok(await page.locator('h1').isVisible(), path);
    }
    await page.goto(`${server.url}/runs`);
    assert.ok((await page.locator('main').innerText()).includes(HOSTILE_NAME));
    assert.equal(await page.evaluate(() => (globalThis as unknown as { __xss?: number }).__xss), undefined);
    // A comparison of two runs draws its curves with uPlot.
    const boxes = page.locator('input[name=d]');
    await boxes.nth(1).check();
    await boxes.nth(2).check();
    await page.click('text=Compare selected');
    await page.waitForURL(/\/runs\/compare/);
    assert.ok((await page.locator('.uplot').count()) >= 1);
    await page.goto(`${server.url}/monitor`);
    assert.equal(await page.locator('.uplot').count(), 4);
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('lets only an admin promote: an operator sees no button and is refused with 403', async () => {
    const gov = openGovernance(seed.dir, { mustExist: true });
    const candidate = gov.registry.resolveTag('candidate') as string;
    const production = gov.registry.resolveTag('production');
    gov.close();
    assert.notEqual(candidate, production);

    const operator = await browser.newPage();
    await signIn(operator, server.url, seed.operatorKey);
    await operator.goto(`${server.url}/models/${candidate}`);
    assert.equal(await operator.locator('button', { hasText: 'Promote' }).count(), 0);
    const refused = await fetch(`${server.url}/models/${candidate}/promote`, {
      method: 'POST',
      headers: { authorization: `Bearer ${seed.operatorKey}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ tag: 'production', reason: 'try' }).toString(),
    });
    assert.equal(refused.status, 403);
    await operator.close();

    const admin = await browser.newPage();
    await signIn(admin, server.url, seed.adminKey);
    await admin.goto(`${server.url}/models/${candidate}`);
    await admin.selectOption('form[aria-label=Promote] select[name=tag]', 'production');
    await admin.fill('form[aria-label=Promote] input[name=reason]', 'console test: candidate passed review');
    await Promise.all([admin.waitForURL(/done=/), admin.click('form[aria-label=Promote] button')]);
    await admin.close();

    const after = openGovernance(seed.dir, { mustExist: true });
    try {
      assert.equal(after.registry.resolveTag('production'), candidate);
      const last = after.registry.tagHistory('production').at(-1);
      assert.equal(last?.action, 'promote');
      assert.equal(last?.actor, 'console:ada');
      assert.equal(last?.reason, 'console test: candidate passed review');
    } finally {
      after.close();
    }
  });

  it('records review decisions from the keyboard and in a batch, with the reviewer', async () => {
    const page = await browser.newPage();
    await signIn(page, server.url, seed.operatorKey);
    await page.goto(`${server.url}/review`);
    const ids = await page
      .locator('.review-item input[name=ids]')
      .evaluateAll((els) => els.map((e) => (e as unknown as { value: string }).value));
    assert.ok(ids.length >= 3, `review items: ${ids.length}`);
    // The first item is selected: 'a' picks attack and jumps to the reason; Enter submits.
    await page.keyboard.press('a');
    await page.keyboard.type('PGD-like noise on a digit');
    await Promise.all([page.waitForURL(/done=/), page.keyboard.press('Enter')]);
    // Tick the next two with j/x and decide them together.
    await page.keyboard.press('x');
    await page.keyboard.press('j');
    await page.keyboard.press('x');
    await page.fill('form#batch input[name=reason]', 'clean-looking digits');
    await Promise.all([page.waitForURL(/done=/), page.click('form#batch button')]);
    await page.close();

    const gov = openGovernance(seed.dir, { mustExist: true });
    try {
      const first = gov.captures.get(ids[0] as string);
      assert.equal(first.review.status, 'attack');
      assert.equal(first.review.reviewer, 'olive');
      assert.equal(first.review.reason, 'PGD-like noise on a digit');
      for (const id of ids.slice(1, 3)) assert.equal(gov.captures.get(id).review.status, 'benign', id);
      assert.equal(gov.audit.list({ action: 'review.decide' }).length, 3);
    } finally {
      gov.close();
    }
  });

  it('has no serious or critical accessibility violations (axe)', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page, server.url, seed.adminKey);
    const found: string[] = [];
    for (const path of [...PAGES, '/login']) {
      await page.goto(`${server.url}${path}`);
      const result = await new AxeBuilder({ page }).analyze();
      for (const v of result.violations) if (v.impact === 'serious' || v.impact === 'critical') found.push(`${path}: ${v.id} (${v.help})`);
    }
    assert.deepEqual(found, []);
    await context.close();
  });
});

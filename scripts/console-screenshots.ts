/**
 * `npx tsx scripts/console-screenshots.ts`: screenshots of every console page for the
 * README (docs/console/*.png). Seeds the same small real registry the browser tests use,
 * starts `rampart console`, signs in as an admin in Chromium and captures each page.
 * Needs Chromium at /usr/bin/chromium (or CHROMIUM=path).
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { openGovernance } from '../src/governance/index.js';
import { startConsole } from '../test/console-process.js';
import { seedConsoleRegistry } from '../test/console-seed.js';

const out = fileURLToPath(new URL('../docs/console/', import.meta.url));
mkdirSync(out, { recursive: true });
const seed = await seedConsoleRegistry();
const gov = openGovernance(seed.dir, { mustExist: true });
const production = gov.registry.resolveTag('production');
// The baseline of the first run against the hardened model of the second (different seeds).
const evals = gov.registry.list({ kind: 'evaluation' }).filter((e) => e.name.startsWith('digits/'));
const pair = [evals[0], evals.at(-1)];
gov.close();
const server = await startConsole(seed);
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`${server.url}/login`);
  await page.fill('#key', seed.adminKey);
  await Promise.all([page.waitForURL(`${server.url}/`), page.click('button[type=submit]')]);
  const shots: Record<string, string> = {
    overview: '/',
    runs: '/runs',
    compare: `/runs/compare?d=${pair[0]?.digest}&d=${pair[1]?.digest}`,
    model: `/models/${production}`,
    risks: '/risks',
    monitor: '/monitor',
    review: '/review',
    audit: '/audit',
  };
  for (const [name, path] of Object.entries(shots)) {
    await page.goto(`${server.url}${path}`);
    // The audit log is long: its first screen says enough.
    await page.screenshot({ path: join(out, `${name}.png`), fullPage: name !== 'audit' });
    console.log(`docs/console/${name}.png`);
  }
} finally {
  await browser.close();
  await server.stop();
  rmSync(seed.root, { recursive: true, force: true });
}

/**
 * Issue 20, text budgets: one word of a few thousand letters made the spelling stage build
 * ~n² deletion strings, and `rampart serve` ran out of memory. Every text input dimension now
 * has a budget (`src/defenses/normalize-text/budget.ts`); these tests send the worst cases
 * through the normaliser (in a child process with a 256 MB heap, where the old normaliser runs
 * out of memory on the first case) and through a real `rampart serve` text model on loopback
 * (with a 512 MB heap, where the old server died on the first request).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RampartError } from '../../src/core/errors.js';
import { spamAssassinSplits } from '../../src/data/text/spam-assassin.js';
import { sampleTexts } from '../../src/data/text/text-dataset.js';
import { trainTextClassifier } from '../../src/training/text/train.js';
import { saveTextClassifier } from '../../src/models/text/store.js';
import { createTextNormalizer, normalizeText, normalizeTextWithReport } from '../../src/defenses/normalize-text/normalize.js';
import { MAX_NORMALIZE_TEXT_LENGTH, MAX_WORD_LENGTH } from '../../src/defenses/normalize-text/budget.js';
import { createSpellingCorrector } from '../../src/defenses/normalize-text/spelling.js';
import { createRng } from '../../src/core/rng.js';
import { SERVE_TEXT_CAP, worstCaseTexts } from './text-budget-cases.js';
import { startServe } from '../serve-process.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
/** Generous for a loaded machine: each case takes well under a second here; the old code never finished. */
const CASE_MS = 10_000;

test('the worst-case texts go through the normaliser in bounded time and memory (child with a 256 MB heap)', (t) => {
  const probe = join(root, 'test/security/text-budget-probe.ts');
  const args = ['--max-old-space-size=256', '--import', 'tsx', probe];
  const run = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 120_000 });
  assert.equal(run.status, 0, `probe failed (signal ${run.signal}): ${run.stderr.slice(-2000)}`);
  type Case = { name: string; ms: number; longest: number; marked: string };
  const cases = run.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Case);
  assert.deepEqual(
    cases.map((c) => c.name),
    worstCaseTexts().map((c) => c.name),
    'every case answered',
  );
  for (const c of cases) {
    t.diagnostic(`${c.name}: ${c.ms} ms for three normalisations`);
    assert.ok(c.ms < CASE_MS, `${c.name}: ${c.ms} ms`);
    assert.ok(c.longest <= MAX_WORD_LENGTH, `${c.name}: a word of ${c.longest} letters came out`);
  }
  // The cut word is marked as the obfuscation it is.
  assert.match((cases[0] as { marked: string }).marked, /zzobflong/);
});

test('a word over MAX_WORD_LENGTH is cut to it before any stage; shorter words and addresses are untouched', () => {
  const long = 'x'.repeat(MAX_WORD_LENGTH + 1);
  const report = normalizeTextWithReport(`claim ${long} now`);
  assert.equal(report.text, `claim ${'x'.repeat(MAX_WORD_LENGTH)} now`);
  assert.equal(report.longWordsCut, 1);
  assert.equal(normalizeTextWithReport(`claim ${'x'.repeat(MAX_WORD_LENGTH)} now`).longWordsCut, 0);
  // Marked as cut, and (as every unknown word left) as unknown.
  assert.equal(normalizeText(`claim ${long}`, { markObfuscation: true }), `claim ${'x'.repeat(MAX_WORD_LENGTH)} zzobflong zzobfunknown`);
  // An address is an identifier: a long id inside a URL stays whole.
  const url = `http://example.com/track?id=${'a1b2'.repeat(40)}`;
  assert.equal(normalizeText(`see ${url} today`), `see ${url} today`);
  // The line-caching normaliser applies the same rule.
  assert.equal(createTextNormalizer()(`claim ${long} now\nfr33 money`), `claim ${'x'.repeat(MAX_WORD_LENGTH)} now\nfree money`);
});

test('a text over MAX_NORMALIZE_TEXT_LENGTH is refused with E_TEXT_TOO_LONG naming the limit', () => {
  const text = 'word '.repeat(MAX_NORMALIZE_TEXT_LENGTH / 5 + 1);
  const limit = String(MAX_NORMALIZE_TEXT_LENGTH);
  for (const normalize of [(t: string) => normalizeText(t), createTextNormalizer()]) {
    assert.throws(
      () => normalize(text),
      (e: unknown) => e instanceof RampartError && e.code === 'E_TEXT_TOO_LONG' && e.kind === 'input' && e.message.includes(limit),
    );
  }
  assert.equal(normalizeText('word '.repeat(MAX_NORMALIZE_TEXT_LENGTH / 5)).length, MAX_NORMALIZE_TEXT_LENGTH - 1);
});

test('the spelling corrector skips words longer than any vocabulary word can reach, without building their deletions', () => {
  const spelling = createSpellingCorrector([
    ['mortgage', 3],
    ['nature', 2],
  ]);
  assert.equal(spelling.correct('mortgaeg'), 'mortgage');
  const started = performance.now();
  assert.equal(spelling.correct('q'.repeat(20_000)), undefined);
  assert.equal(spelling.unscramble('q'.repeat(20_000)), undefined);
  assert.ok(performance.now() - started < 1_000, `${performance.now() - started} ms`);
  // A vocabulary (e.g. a saved vocabulary file) holding a huge word does not build its n² keys.
  const built = performance.now();
  const padded = createSpellingCorrector([
    ['mortgage', 3],
    ['q'.repeat(20_000), 5],
  ]);
  assert.equal(padded.size, 1);
  assert.equal(padded.correct('mortgaeg'), 'mortgage');
  assert.ok(performance.now() - built < 1_000, `${performance.now() - built} ms`);
});

describe('rampart serve with a text model (child process, 512 MB heap)', () => {
  let dir: string;
  let child: ChildProcess | undefined;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rampart-text-budget-'));
    const train = sampleTexts(spamAssassinSplits({ seed: 3, maxChars: 600 }).train, 160, 1);
    const options = { epochs: 1, seed: 1, id: 'spam-budget', normalize: true, featurizer: { buckets: 1024 } };
    const { classifier } = await trainTextClassifier(train, options);
    await saveTextClassifier(classifier, join(dir, 'model'));
    classifier.dispose();
    // Raises the request cap past the normaliser's, to see the normaliser's own refusal.
    // Query patterns off: the work-budget case sends 64 near-identical texts, which that layer rightly denies first.
    await writeFile(
      join(dir, 'serve.yaml'),
      `layers:\n  validate: { maxTextLength: ${2 * MAX_NORMALIZE_TEXT_LENGTH} }\n  queryPattern: false\nlimits:\n  workMs: 1000\n`,
    );
  });

  after(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  test('answers the worst-case texts within a bounded time, stays up, and refuses a text over the budget by code', async (t) => {
    const server = await startServe(['--model', join(dir, 'model'), '--config', join(dir, 'serve.yaml'), '--log-level', 'warn'], {
      nodeArgs: ['--max-old-space-size=512'],
      timeoutMs: 90_000,
    });
    child = server.proc;
    const { url, proc, exited } = server;
    const stderr = (): string => server.stderr();
    const predict = (texts: string[]): Promise<Response> =>
      fetch(`${url}/v1/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ texts }),
        signal: AbortSignal.timeout(60_000),
      });

    for (const { name, text } of worstCaseTexts()) {
      assert.ok(text.length <= SERVE_TEXT_CAP, name);
      const started = performance.now();
      const noAnswer = (e: unknown): never => assert.fail(`${name}: no answer (${String(e)}); server stderr: ${stderr().slice(-1500)}`);
      const res = await predict([text]).catch(noAnswer);
      const ms = performance.now() - started;
      const body = await res.text();
      assert.equal(res.status, 200, `${name}: ${body}`);
      const json = JSON.parse(body) as { predictions: Array<{ probabilities: number[] }> };
      assert.equal(json.predictions.length, 1, name);
      assert.ok(ms < CASE_MS, `${name}: answered in ${Math.round(ms)} ms`);
      t.diagnostic(`${name}: ${Math.round(ms)} ms`);
    }
    // A batch of the long-word texts at the cap, all at once.
    const batch = worstCaseTexts()
      .slice(0, 4)
      .map((c) => c.text);
    assert.equal((await predict(batch)).status, 200);

    // A full batch of distinct texts at the cap, each bounded (about 50 ms on a quiet machine) but
    // 64 of them are not: the request's work budget (limits.workMs, 1 s in this test's config)
    // refuses it part way instead of holding the server. Distinct, because the normaliser caches lines.
    const rng = createRng(9);
    const pairs = (): string => Array.from({ length: 3333 }, () => String.fromCharCode(97 + rng.int(26), 97 + rng.int(26))).join(' ');
    const started = performance.now();
    const heavy = await predict(Array.from({ length: 64 }, pairs));
    const heavyMs = performance.now() - started;
    assert.equal(heavy.status, 422, await heavy.clone().text());
    const heavyError = ((await heavy.json()) as { error: { code: string; message: string } }).error;
    assert.equal(heavyError.code, 'E_REQUEST_BUDGET');
    assert.match(heavyError.message, /limits\.workMs/);
    t.diagnostic(`64 slow texts refused after ${Math.round(heavyMs)} ms`);
    assert.ok(heavyMs < 20_000, `refused after ${Math.round(heavyMs)} ms`);

    const tooLong = await predict(['word '.repeat(MAX_NORMALIZE_TEXT_LENGTH / 5 + 1)]);
    assert.equal(tooLong.status, 400);
    const error = ((await tooLong.json()) as { error: { code: string; message: string } }).error;
    assert.equal(error.code, 'E_TEXT_TOO_LONG');
    assert.match(error.message, new RegExp(String(MAX_NORMALIZE_TEXT_LENGTH)));

    // Still up, and its memory bounded: resident size from the kernel where there is one.
    assert.equal((await fetch(`${url}/v1/models`)).status, 200);
    const status = await readFile(`/proc/${proc.pid}/status`, 'utf8').catch(() => '');
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    t.diagnostic(`server resident size after the worst cases: ${Math.round(rssKb / 1024)} MB`);
    assert.ok(rssKb < 1_500_000, `server resident size ${Math.round(rssKb / 1024)} MB`);
    proc.kill('SIGTERM');
    assert.equal(await exited, 0, stderr());
  });
});
